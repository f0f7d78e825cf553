"""Routing rules: the route tests beside them, fan-out, predicates, receivers, and refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

import hub
from exchange.errors import ConfigError, Unroutable
from exchange.pipeline import process, read_document
from exchange.routetests import run_one, with_journal
from exchange.routing import Router, load_rules

from conftest import CONFIG, SAMPLES

_assembly = hub.assemble(CONFIG, Path("/nonexistent-data-dir"))


@pytest.mark.parametrize(
    "path, table", _assembly.route_tests, ids=[f"{p.stem}: {t.data['name']}" for p, t in _assembly.route_tests])
def test_route_tests_beside_the_rules(path, table):
    result = run_one(path, table, _assembly.context)
    assert result.passed, result.problems


def test_there_are_route_tests_for_every_rule():
    tested = set()
    for path, table in _assembly.route_tests:
        journal = [(path.parent / entry["document"], entry["from"]) for entry in table.data.get("journal", [])]
        outcome = process((path.parent / table.data["document"]).read_bytes(), table.data["from"],
                          "t.xml", with_journal(_assembly.context, journal))
        tested |= {copy.destination.route for copy in outcome.copies}
    assert tested == {rule.name for rule in _assembly.router.rules}


def write_routes(folder: Path, text: str) -> Router:
    folder.mkdir(exist_ok=True)
    (folder / "r.toml").write_text(text, encoding="utf-8")
    rules, _ = load_rules(folder)
    return Router(rules, {"DXPENT0000016069": "etps-shenyang", "CUS0000": "customs"})


def route(router, context, relative, sender="etps-shenyang"):
    kind, document = read_document((SAMPLES / relative).read_bytes(), context)
    return router.route(kind.type, sender, document)


def test_one_document_goes_to_every_destination_of_every_matching_rule(tmp_path, context):
    router = write_routes(tmp_path, """
[[route]]
name = "a"
type = "INV101"
to = [{ endpoint = "customs" }, { endpoint = "zone" }]
[[route]]
name = "b"
type = ["INV101", "SAS121"]
to = [{ endpoint = "customs" }, { endpoint = "agency-tax" }]
""")
    destinations = route(router, context, "etps-shenyang/INV101-import.xml")
    assert [(d.route, d.endpoint) for d in destinations] == [("a", "customs"), ("a", "zone"), ("b", "agency-tax")]


def test_xpath_predicates_select_by_content(tmp_path, context):
    router = write_routes(tmp_path, """
[[route]]
name = "imports"
type = "INV101"
where = ["InvtHeadType/ImpexpMarkcd = 'I'"]
to = [{ endpoint = "customs" }]
[[route]]
name = "exports"
type = "INV101"
where = ["InvtHeadType/ImpexpMarkcd = 'E'", "count(InvtListType) > 0"]
to = [{ endpoint = "zone" }]
""")
    assert [d.route for d in route(router, context, "etps-shenyang/INV101-import.xml")] == ["imports"]
    assert [d.route for d in route(router, context, "etps-shenyang/INV101-export.xml")] == ["exports"]


def test_the_sending_endpoint_is_matched_by_glob(tmp_path, context):
    router = write_routes(tmp_path, """
[[route]]
name = "from-enterprises"
type = "INV101"
from = ["etps-*"]
to = [{ endpoint = "customs" }]
""")
    assert route(router, context, "etps-shenyang/INV101-import.xml", "etps-shenyang")
    with pytest.raises(Unroutable, match="no route for INV101 from endpoint zone"):
        route(router, context, "etps-shenyang/INV101-import.xml", "zone")


def test_receipts_go_to_the_endpoint_owning_the_receiver_id(tmp_path, context):
    router = write_routes(tmp_path, """
[[route]]
name = "back"
type = "INV201"
to_receivers = true
""")
    assert [d.endpoint for d in route(router, context, "customs/INV201-receipt.xml", "customs")] == ["etps-shenyang"]
    router.endpoint_ids = {}
    with pytest.raises(Unroutable, match="no endpoint owns receiver id DXPENT0000016069"):
        route(router, context, "customs/INV201-receipt.xml", "customs")


@pytest.mark.parametrize("text, key", [
    ('[[route]]\nname = "x"\ntype = "INV101"\n', "route[0].to"),
    ('[[route]]\nname = "x"\ntype = "INV101"\nwhere = ["((("]\nto = [{ endpoint = "customs" }]\n', "route[0].where[0]"),
    ('[[route]]\nname = "x"\ntype = "INV101"\nto = [{ endpoint = "customs" }]\ndestination = "zone"\n',
     "route[0].destination"),
    ('[[route]]\nname = "x"\ntype = 7\nto = [{ endpoint = "customs" }]\n', "route[0].type"),
])
def test_a_broken_rule_names_its_file_and_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as caught:
        write_routes(tmp_path, text)
    assert caught.value.file.endswith("r.toml")
    assert caught.value.key == key


def _process_with(tmp_path, context, rules_text: str, sample: str, sender: str = "etps-shenyang"):
    from dataclasses import replace

    router = write_routes(tmp_path, rules_text)
    return process((SAMPLES / sample).read_bytes(), sender, "x.xml", replace(context, router=router))


def test_a_copy_can_be_wrapped_for_the_electronic_port(tmp_path, context):
    import base64

    from lxml import etree

    rules = '[[route]]\nname = "over-dxp"\ntype = "INV101"\nto = [{ endpoint = "customs", envelope = "dxp" }]\n'
    outcome = _process_with(tmp_path, context, rules, "etps-shenyang/INV101-import.xml")
    (copy,) = outcome.copies
    wrapper = etree.fromstring(copy.body)
    ns = {"d": "http://www.chinaport.gov.cn/dxp"}
    assert wrapper.tag == "{http://www.chinaport.gov.cn/dxp}DxpMsg"
    assert wrapper.findtext("d:TransInfo/d:MsgType", namespaces=ns) == "INV101"
    assert wrapper.findtext("d:TransInfo/d:ReceiverIds/d:ReceiverId", namespaces=ns) == "DXPDSWNEMS000001"
    assert wrapper.findtext("d:TransInfo/d:SenderId", namespaces=ns) == "DXPHUB0000000001"
    data = base64.b64decode(wrapper.findtext("d:Data", namespaces=ns))
    assert data == (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes()
    context.catalog.validate_transport(wrapper.getroottree())
    # the same business content sent again (a new message id and send time) keeps its CopMsgId,
    # so the receiving node sees a resend; other content gets another one
    from dataclasses import replace

    from exchange.routing import Router, load_rules

    folder = tmp_path / "again"
    folder.mkdir()
    (folder / "r.toml").write_text(rules)
    context = replace(context, router=Router(load_rules(folder)[0], {}))
    original = (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes()
    resent = original.replace(b"DXPENT0000016069202611280930000000001", b"DXPENT0000016069202611290800000000009")
    changed = original.replace("<GdsNm>精密轴承座</GdsNm>".encode(), "<GdsNm>精密轴承座A</GdsNm>".encode(), 1)
    cop = "d:TransInfo/d:CopMsgId"

    def cop_msg_id(data: bytes) -> str:
        (copy,) = process(data, "etps-shenyang", "x.xml", context).copies
        return etree.fromstring(copy.body).findtext(cop, namespaces=ns)

    assert cop_msg_id(resent) == wrapper.findtext(cop, namespaces=ns)
    assert cop_msg_id(changed) != wrapper.findtext(cop, namespaces=ns)


def test_a_document_that_came_over_dxp_can_be_unwrapped(tmp_path, context):
    rules = ('[[route]]\nname = "unwrapped"\ntype = "SAS121"\n'
             'to = [{ endpoint = "zone", envelope = "none" }]\n')
    outcome = _process_with(tmp_path, context, rules, "dxp/SAS121-pass-over-dxp.xml")
    (copy,) = outcome.copies
    kind, document = read_document(copy.body, context)
    assert (kind.type, kind.dialect, document.envelope.shape) == ("SAS121", "enterprise", "signature")


def test_a_document_that_came_over_dxp_is_wrapped_once_when_sent_on_over_dxp(tmp_path, context):
    import base64

    from lxml import etree

    rules = ('[[route]]\nname = "on-over-dxp"\ntype = "SAS121"\n'
             'to = [{ endpoint = "zone", envelope = "dxp" }]\n')
    (copy,) = _process_with(tmp_path, context, rules, "dxp/SAS121-pass-over-dxp.xml").copies
    inner = base64.b64decode(etree.fromstring(copy.body).findtext("{http://www.chinaport.gov.cn/dxp}Data"))
    assert etree.fromstring(inner).tag == "Signature"  # the business document, not the incoming DxpMsg
