"""The catalog recognises each type, validates with every error listed, and converts between dialects."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from exchange import catalog as catalogs
from exchange import envelope as envelopes
from exchange.errors import ConfigError, ConversionError, InvalidDocument, UnknownType
from exchange.parsing import parse
from exchange.pipeline import read_document

from conftest import HOME, SAMPLES

VALID = {
    "etps-shenyang/INV101-import.xml": ("INV101", "enterprise"),
    "etps-shenyang/INV101-export.xml": ("INV101", "enterprise"),
    "etps-shenyang/SAS121-pass.xml": ("SAS121", "enterprise"),
    "customs/INV201-receipt.xml": ("INV201", "customs"),
    "zone/SAS221-receipt.xml": ("SAS221", "customs"),
}


@pytest.mark.parametrize("relative", sorted(VALID))
def test_each_sample_is_recognised_and_valid(context, relative):
    kind, document = read_document((SAMPLES / relative).read_bytes(), context)
    assert (kind.type, kind.dialect) == VALID[relative]
    context.catalog.validate(kind, document)


def test_unassigned_numbers_may_be_left_empty(context):
    """Customs assigns SeqNo and BondInvtNo later: real documents send them empty."""
    kind, document = read_document((SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes(), context)
    head = document.body.find("InvtHeadType")
    assert head.findtext("SeqNo") == "" and head.findtext("BondInvtNo") == ""
    context.catalog.validate(kind, document)


def test_correlation_keys_are_read(context):
    _, document = read_document((SAMPLES / "customs/INV201-receipt.xml").read_bytes(), context)
    keys = document.business.keys
    assert len(keys.get("seq_no", "")) == 18
    _, document = read_document((SAMPLES / "etps-shenyang/SAS121-pass.xml").read_bytes(), context)
    assert document.business.keys["rlt_no"].startswith("QD")


def test_every_schema_error_is_reported_with_line_and_path(context):
    kind, document = read_document((SAMPLES / "invalid/INV101-several-errors.xml").read_bytes(), context)
    with pytest.raises(InvalidDocument) as caught:
        context.catalog.validate(kind, document, file="several-errors.xml")
    issues = caught.value.issues
    assert [(issue.line, issue.path.rsplit("/", 2)[-2:], issue.file) for issue in issues] == [
        (34, ["InvtHeadType", "BondInvtNo"], "several-errors.xml"),
        (66, ["InvtListType[2]", "DclUnitcd"], "several-errors.xml"),  # GdsNm missing before it
        (67, ["InvtListType[3]", "DclQty"], "several-errors.xml")]


def test_a_wrong_namespace_is_an_unknown_type(context):
    with pytest.raises(UnknownType, match="urn:example:wrong"):
        read_document((SAMPLES / "invalid/INV101-wrong-namespace.xml").read_bytes(), context)


def test_an_envelope_that_contradicts_its_body_is_refused(context):
    data = (SAMPLES / "etps-shenyang/SAS121-pass.xml").read_bytes()
    data = data.replace(b"<message_type>SAS121</message_type>", b"<message_type>INV101</message_type>")
    with pytest.raises(UnknownType, match="does not match|but the business element"):
        read_document(data, context)


def leaf_values(root: etree._Element) -> Counter:
    return Counter((el.text or "").strip() for el in root.iter() if isinstance(el.tag, str) and len(el) == 0
                   and (el.text or "").strip())


def test_the_pass_form_map_keeps_every_value_and_validates(context):
    source = (SAMPLES / "etps-shenyang/SAS121-pass.xml").read_bytes()
    _, document = read_document(source, context)
    result = context.catalog.convert("sas121-enterprise-to-customs", document)
    kind, output = context.catalog.identify(envelopes.read(result))
    assert (kind.type, kind.dialect) == ("SAS121", "customs")
    context.catalog.validate(kind, output)
    # every business value survives; the enterprise envelope's signature block is not carried over
    business = document.body
    values = leaf_values(business)
    assert values and not values - leaf_values(result.getroot())
    assert result.getroot().find(".//SasPassportBsc/rltNo").text == business.findtext("PassportHead/RltNo")


def _catalog_with(tmp_path: Path, xsl: str) -> catalogs.Catalog:
    schemas = tmp_path / "schemas"
    import shutil
    shutil.copytree(HOME / "schemas", schemas)
    (schemas / "maps" / "sas121-enterprise-to-customs.xsl").write_text(xsl)
    return catalogs.load(schemas / "catalog.toml")


def test_a_map_whose_output_fails_the_target_schema_is_a_conversion_error(tmp_path, assembly):
    from dataclasses import replace
    from exchange.pipeline import process

    # a "map" that copies the enterprise document unchanged: the output is not the customs dialect
    identity = """<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
      <xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy></xsl:template>
    </xsl:stylesheet>"""
    context = replace(assembly.context, catalog=_catalog_with(tmp_path, identity))
    outcome = process((SAMPLES / "etps-shenyang/SAS121-pass.xml").read_bytes(), "etps-shenyang", "x.xml", context)
    assert isinstance(outcome.error, ConversionError)
    assert "sas121-enterprise-to-customs" in outcome.error.reason
    assert outcome.copies == []


def test_a_stylesheet_that_does_not_compile_stops_the_catalog_from_loading(tmp_path):
    with pytest.raises(ConfigError, match="sas121-enterprise-to-customs.xsl"):
        _catalog_with(tmp_path, "<xsl:stylesheet version='1.0' xmlns:xsl='http://www.w3.org/1999/XSL/Transform'>"
                                "<xsl:template match='/'><xsl:value-of select='(('/></xsl:template></xsl:stylesheet>")
