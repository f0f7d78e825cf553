"""The gathering's parts on their own: what a [[gather]] table must say, and the document its
decision stylesheet reads (exchange/gathering.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from conftest import HOME
from exchange.errors import ConfigError
from exchange.gathering import gather_from, gathering_document
from exchange.routing import load_gathers
from exchange.spec import Table

REVIEW = {"name": "joint-review", "start": "REVIEW101", "answer": "REVIEW121", "key": "application_id",
          "member": "agency", "members": {"CUSTOMS": "agency-customs", "TAX": "agency-tax"}, "within": "30m",
          "decision": "REVIEW131", "xsl": "../schemas/maps/review-gathering-to-decision.xsl"}


def table(**changes) -> Table:
    data = {**REVIEW, **changes}
    return Table({k: v for k, v in data.items() if v is not None}, "routes/review.toml", "gather[0].")


def test_a_gathering_is_read_with_its_members_deadline_and_stylesheet():
    gather = gather_from(table(), HOME / "routes")
    assert (gather.name, gather.start, gather.answer, gather.key, gather.member, gather.members, gather.within,
            gather.decision, gather.xsl) == (
        "joint-review", "REVIEW101", "REVIEW121", "application_id", "agency",
        (("CUSTOMS", "agency-customs"), ("TAX", "agency-tax")), 1800.0, "REVIEW131",
        HOME / "schemas" / "maps" / "review-gathering-to-decision.xsl")
    assert (gather.endpoint_of("TAX"), gather.endpoint_of("SAFE")) == ("agency-tax", None)


@pytest.mark.parametrize("changes, key, reason", [
    ({"members": None}, "gather[0].members", "is required"),
    ({"members": {}}, "gather[0].members", "a gathering needs at least one member"),
    ({"members": {"TAX": 5}}, "gather[0].members.TAX", "expected a string"),
])
def test_a_gathering_without_proper_members_is_a_config_error_naming_the_key(changes, key, reason):
    with pytest.raises(ConfigError) as caught:
        gather_from(table(**changes), HOME / "routes")
    assert (caught.value.file, caught.value.key) == ("routes/review.toml", key)
    assert reason in str(caught.value)


def test_a_decision_stylesheet_that_does_not_compile_is_a_config_error_naming_it(tmp_path):
    (tmp_path / "broken.xsl").write_text('<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
                                         '<xsl:template match="/"><xsl:value-of select="((("/></xsl:template></xsl:stylesheet>')
    with pytest.raises(ConfigError) as caught:
        gather_from(table(xsl="broken.xsl"), tmp_path)
    assert (caught.value.file, caught.value.key) == ("routes/review.toml", "gather[0].xsl")
    assert "the stylesheet does not compile: " in str(caught.value)


def test_a_decision_stylesheet_may_read_no_file_and_reach_no_network(tmp_path):
    """The stylesheet is configuration a partner may write: it decides from the Gathering alone."""
    secret = tmp_path / "secret.xml"
    secret.write_text("<secret>s3cr3t</secret>")
    (tmp_path / "reads.xsl").write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        f'<xsl:template match="/"><out><xsl:value-of select="document(\'{secret.as_uri()}\')"/></out></xsl:template>'
        '</xsl:stylesheet>')
    gather = gather_from(table(xsl="reads.xsl"), tmp_path)
    with pytest.raises(etree.XSLTApplyError):
        gather.transform(etree.ElementTree(etree.fromstring("<x/>")))


def test_the_gathering_document_carries_the_start_every_member_and_each_answer():
    gather = gather_from(table(), HOME / "routes")
    start = etree.fromstring('<Application xmlns="urn:r"><Id>A1</Id></Application>')
    tax = etree.fromstring('<Verdict xmlns="urn:r"><Agency>TAX</Agency></Verdict>')
    document = gathering_document(gather, "A1", start, {"TAX": tax}, message_id="M1", sender="HUB", receiver="ENT",
                                  decided_at="2026-12-02T10:00:00", why="time is up")
    assert etree.tostring(document, encoding="unicode") == (
        '<Gathering xmlns="urn:customs-hub:gather:1" name="joint-review" key="A1" messageId="M1" senderId="HUB" '
        'receiverId="ENT" decidedAt="2026-12-02T10:00:00" why="time is up">'
        '<Member name="CUSTOMS" answered="false"/><Member name="TAX" answered="true"/>'
        '<Start><Application xmlns="urn:r"><Id>A1</Id></Application></Start>'
        '<Answer member="TAX"><Verdict xmlns="urn:r"><Agency>TAX</Agency></Verdict></Answer></Gathering>')


def test_two_gatherings_of_one_name_are_a_config_error_naming_the_first(tmp_path):
    lines = "".join(f'{k} = "{v}"\n' for k, v in REVIEW.items() if isinstance(v, str) and k != "xsl")
    gather = ("[[gather]]\n" + lines + f'xsl = "{HOME / "schemas/maps/review-gathering-to-decision.xsl"}"\n'
              'members = { TAX = "agency-tax" }\n')
    (tmp_path / "a.toml").write_text(gather)
    (tmp_path / "b.toml").write_text(gather)
    with pytest.raises(ConfigError) as caught:
        load_gathers(tmp_path)
    assert Path(caught.value.file).name == "b.toml"
    assert f"gathering joint-review is already defined in {tmp_path / 'a.toml'}" in str(caught.value)
