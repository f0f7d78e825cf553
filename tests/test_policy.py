"""Tolerant in, strict out: what an authority sends is read by the fields the hub needs; what the
hub sends on is checked strictly (exchange/policy.py, `policy` in schemas/catalog.toml)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from lxml import etree

import hub
from exchange.errors import ConfigError, InvalidDocument
from exchange.pipeline import check_document

from conftest import HOME, SAMPLES

RECEIPT = SAMPLES / "customs" / "INV201-receipt.xml"  # from customs, read tolerantly
HDE = "/Package/DataInfo/BussinessData/INV201/HdeApprResult"


def edited(path: Path, old: str, new: str, count: int = 1) -> bytes:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, old
    return text.replace(old, new, count).encode("utf-8")


def line_of(data: bytes, needle: str) -> int:
    return data.decode("utf-8")[:data.decode("utf-8").index(needle)].count("\n") + 1


def validate(capsys, tmp_path, data: bytes, name: str = "document.xml") -> tuple[int, str]:
    path = tmp_path / name
    path.write_bytes(data)
    code = hub.main(["validate", str(path)])
    return code, capsys.readouterr().out


# -- tolerant: what customs sends -------------------------------------------------------

def test_a_customs_receipt_with_an_element_never_seen_is_valid_and_the_output_names_it(capsys, tmp_path):
    data = edited(RECEIPT, "<rmk>审核通过</rmk>", "<rmk>审核通过</rmk>\n\t\t\t\t\t<fxCheckFlag>1</fxCheckFlag>")
    code, out = validate(capsys, tmp_path, data)
    assert code == 0
    line = line_of(data, "<fxCheckFlag>")
    assert out.splitlines() == [
        f"{tmp_path / 'document.xml'}: valid INV201/customs (tolerant), 1 warning (schema drift)",
        f"  {tmp_path / 'document.xml'}:line {line}: {HDE}/fxCheckFlag: warning: fxCheckFlag is not an element "
        "INV201.xsd knows here: accepted, not read"]


def test_the_warning_names_each_line_an_unknown_field_is_on(tmp_path):
    data = RECEIPT.read_bytes().replace(b"</BondInvtBsc>", b"<newMark>X</newMark></BondInvtBsc>")
    kind, _, drift = check_document(data, hub.assemble(hub.DEFAULT_CONFIG, tmp_path).context)
    assert [(d.kind, d.element, d.path) for d in drift] == [
        ("unknown-element", "newMark", "/Package/DataInfo/BussinessData/INV201/BondInvtBsc/newMark")]


def test_field_order_is_free_for_what_an_authority_sends(tmp_path, context):
    text = RECEIPT.read_text(encoding="utf-8")
    block = re.search(r"<HdeApprResult>(.*?)</HdeApprResult>", text, re.S)
    fields = re.findall(r"<(\w+)>[^<]*</\1>|<\w+/>", block.group(1))
    children = re.findall(r"\s*(<(\w+)>[^<]*</\2>|<\w+/>)", block.group(1))
    reversed_block = "".join(child for child, _ in reversed(children))
    data = text.replace(block.group(1), reversed_block).encode("utf-8")
    assert fields and data != RECEIPT.read_bytes()
    kind, document, drift = check_document(data, context)
    assert (kind.type, drift) == ("INV201", [])
    assert document.business.keys["seq_no"] == "080120261000012345"


@pytest.mark.parametrize("namespace", ["", ' xmlns="http://www.w3.org/2000/09/xmldsig#"', ' xmlns="urn:some-other"'])
def test_a_receipt_is_read_in_any_namespace_form(namespace, context):
    text = RECEIPT.read_text(encoding="utf-8")
    data = re.sub(r"<Package[^>]*>", f"<Package{namespace}>", text, count=1).encode("utf-8")
    kind, document, drift = check_document(data, context)
    assert (kind.type, kind.policy, drift) == ("INV201", "tolerant", [])
    assert document.business.keys == {"seq_no": "080120261000012345", "etps_inner_no": "HC2026112800001",
                                      "bond_invt_no": "QD080126I000012345"}


@pytest.mark.parametrize("value", ["2019-11-26 16:04:34", "2019-11-26T16:04:34", "2024-08-01T14:53:03.841+08:00",
                                   "20191126160434", "20191126", "2019-11-26", ""])
def test_dates_are_read_in_every_form_the_sources_show(value, context):
    data = edited(RECEIPT, "<manageDate>2026-11-28 10:15:28</manageDate>", f"<manageDate>{value}</manageDate>")
    data = data.replace(b"<send_time>2026-11-28T10:15:30</send_time>", f"<send_time>{value}</send_time>".encode())
    assert check_document(data, context)[2] == []


def test_empty_elements_are_taken_where_real_receipts_leave_them_empty(context):
    data = RECEIPT.read_bytes()
    for name in (b"tmsCnt", b"typecd", b"rmk", b"chgTmsCnt", b"putrecNo", b"dclEtpsNm"):
        data = re.sub(rb"<" + name + rb">[^<]*</" + name + rb">", b"<" + name + b"/>", data)
    assert check_document(data, context)[2] == []


def test_a_result_code_not_yet_known_is_a_warning_never_a_refusal(capsys, tmp_path):
    data = edited(RECEIPT, "<manageResult>1</manageResult>", "<manageResult>Q</manageResult>")
    code, out = validate(capsys, tmp_path, data)
    assert code == 0
    assert out.splitlines()[1] == (
        f"  {tmp_path / 'document.xml'}:line {line_of(data, '<manageResult>')}: {HDE}/manageResult: warning: 'Q' "
        "is not (yet) a inventory list review result code: a result the hub has not seen, accepted")


def test_a_field_the_hub_needs_is_still_checked_strictly(capsys, tmp_path):
    data = edited(RECEIPT, "<etpsPreentNo>080120261000012345</etpsPreentNo>", "<etpsPreentNo>0801 20261</etpsPreentNo>")
    code, out = validate(capsys, tmp_path, data)
    assert code == 1
    assert out.splitlines()[1] == (
        f"  {tmp_path / 'document.xml'}:line {line_of(data, '<etpsPreentNo>')}: {HDE}/etpsPreentNo: '0801 20261' is not "
        "a value of HdeApprResult/etpsPreentNo the hub can use (value doesn't match any pattern of ['[^\\\\s]+'])")


def test_a_receipt_without_any_number_to_correlate_by_is_refused_naming_what_is_missing(context):
    data = RECEIPT.read_bytes()
    for name in (b"etpsPreentNo", b"businessId", b"bondInvtNo", b"etpsInnerInvtNo"):
        data = re.sub(rb"<" + name + rb">[^<]*</" + name + rb">", b"<" + name + b"/>", data)
    with pytest.raises(InvalidDocument) as caught:
        check_document(data, context)
    assert [(i.path, i.message) for i in caught.value.issues] == [(
        "/Package/DataInfo/BussinessData/INV201/HdeApprResult/etpsPreentNo",
        "one of HdeApprResult/etpsPreentNo, HdeApprResult/businessId, BondInvtBsc/bondInvtNo, "
        "BondInvtBsc/etpsInnerInvtNo is missing or empty, and the hub needs it to identify or correlate this INV201")]


def test_a_receipt_of_a_type_the_catalog_lacks_is_identified_with_a_warning(capsys, tmp_path):
    data = edited(SAMPLES / "catalog" / "SAS299-customs-unknown-family.xml", "SAS299", "SAS257", count=3)
    code, out = validate(capsys, tmp_path, data)
    assert code == 0
    assert out.splitlines() == [
        f"{tmp_path / 'document.xml'}: valid SAS257/customs (tolerant), 1 warning (schema drift)",
        f"  {tmp_path / 'document.xml'}:line {line_of(data, '<SAS257>')}: /Package/DataInfo/BussinessData/SAS257: "
        "warning: SAS257 is not in the catalog: read as a SAS2## receipt, by the fields every one carries "
        "(family.xsd)"]


# -- strict: what the hub sends on ------------------------------------------------------------

INVENTORY = SAMPLES / "etps-shenyang" / "INV101-import.xml"
HEAD = "/Signature/Object/Package/DataInfo/BussinessData/InvtMessage/InvtHeadType"


def test_an_inventory_list_bound_for_customs_with_an_unknown_element_is_refused_naming_it(capsys, tmp_path):
    data = edited(INVENTORY, "<PutrecNo>", "<FxCheckFlag>1</FxCheckFlag>\n\t\t\t\t\t\t\t<PutrecNo>")
    code, out = validate(capsys, tmp_path, data)
    assert code == 1
    assert f"line {line_of(data, '<FxCheckFlag>')}: {HEAD}/FxCheckFlag: " in out
    assert "FxCheckFlag" in out.splitlines()[1]


def test_an_inventory_list_with_an_empty_mandatory_field_is_still_refused(capsys, tmp_path):
    data = re.sub(rb"<EtpsInnerInvtNo>[^<]*</EtpsInnerInvtNo>", b"<EtpsInnerInvtNo/>", INVENTORY.read_bytes())
    code, out = validate(capsys, tmp_path, data)
    assert code == 1
    assert f"line {line_of(data, '<EtpsInnerInvtNo/>')}: {HEAD}/EtpsInnerInvtNo: " in out


def test_a_strict_document_may_come_with_its_fields_in_another_order(context):
    text = INVENTORY.read_text(encoding="utf-8")
    head = re.search(r"(\s*<SeqNo>[^<]*</SeqNo>|\s*<SeqNo/>)", text)
    moved = text.replace(head.group(1), "", 1).replace("</InvtHeadType>", head.group(1) + "</InvtHeadType>", 1)
    kind, _, drift = check_document(moved.encode("utf-8"), context)
    assert (kind.type, kind.policy, drift) == ("INV101", "strict", [])


DECLARATION = SAMPLES / "h2010" / "DecMessage-import.xml"


def test_a_declaration_with_an_unknown_head_field_is_refused_naming_it(context):
    data = edited(DECLARATION, "<IEFlag>I</IEFlag>", "<IEFlag>I</IEFlag><FxRiskMark>1</FxRiskMark>")
    with pytest.raises(InvalidDocument) as caught:
        check_document(data, context)
    assert [(issue.path, issue.line) for issue in caught.value.issues] == [
        ("/DecMessage/DecHead/FxRiskMark", line_of(data, "<FxRiskMark>"))]
    assert "FxRiskMark" in caught.value.issues[0].message


def test_a_real_declarations_fields_validate_in_the_order_and_spelling_customs_accepts(context):
    data = edited(DECLARATION, "<DistinatePort>116000</DistinatePort>",
                  "<InRatio>100</InRatio><TgdNo/><TradeCodeScc>91210100MA0P4K2X70</TradeCodeScc>"
                  "<DistinatePort>142</DistinatePort>")
    assert check_document(data, context)[0].type == "DecMessage"


def test_a_declaration_without_its_namespace_is_read_as_some_clients_write_it(context):
    data = re.sub(rb' xmlns="http://www.chinaport.gov.cn/dec"', b"", DECLARATION.read_bytes(), count=1)
    kind, document, drift = check_document(data, context)
    assert (kind.type, kind.dialect, drift) == ("DecMessage", "h2010", [])


def test_the_single_window_wrapper_with_an_unnamespaced_declaration_is_valid_and_inspect_names_it(capsys):
    path = SAMPLES / "catalog" / "DecMessage-single-window-inner-no-namespace.xml"
    assert hub.main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: valid DecMessage/single-window (strict)\n"
    assert hub.main(["inspect", str(path)]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert (facts["message_type"], facts["catalog"]["type"]) == ("DecMessage", "DecMessage")
    assert facts["declaration"] == {"shape": "bare", "root": "DecMessage", "namespace": "", "body": "DecMessage",
                                    "message_type": "DecMessage", "message_id": "HCD2026112800001",
                                    "sender": "2101980456", "receivers": [], "business_id": "", "send_time": "",
                                    "keys": {}, "pocket": None}


# -- the policy is data -----------------------------------------------------------------------

def test_hub_schemas_shows_each_entrys_policy(capsys):
    assert hub.main(["schemas", "--json"]) == 0
    listing = {row["type"]: row for row in json.loads(capsys.readouterr().out)}
    policies = {(row["type"], form["dialect"]): form["policy"] for row in listing.values() for form in row["forms"]}
    assert {label: policies[label] for label in [("INV101", "enterprise"), ("INV101", "customs"), ("SAS121", "customs"),
                                                 ("DecMessage", "h2010"), ("REVIEW111", "hub"), ("ZONE901", "hub")]} \
        == dict.fromkeys([("INV101", "enterprise"), ("INV101", "customs"), ("SAS121", "customs"),
                          ("DecMessage", "h2010"), ("REVIEW111", "hub"), ("ZONE901", "hub")], "strict")
    for type_ in ("INV201", "INV202", "INV211", "SAS221", "SAS223", "SAS224", "SAS253", "CommonResponeMessage",
                  "DecImportResponse", "DEC_RESULT", "DxpRep", "SAS2##", "INV2##"):
        assert {form["policy"] for form in listing[type_]["forms"]} == {"tolerant"}, type_
    assert listing["SAS2##"]["family"] is True
    assert listing["INV201"]["forms"][0]["results"] == {"HdeApprResult/manageResult": "inventory list review result"}


@pytest.fixture
def catalog_copy(tmp_path) -> Path:
    shutil.copytree(HOME / "schemas", tmp_path / "schemas")
    return tmp_path / "schemas" / "catalog.toml"


def test_an_entry_without_a_policy_is_a_config_error_naming_it(catalog_copy):
    text = catalog_copy.read_text()
    catalog_copy.write_text(text.replace('type = "INV202"\npolicy = "tolerant"\n', 'type = "INV202"\n', 1))
    with pytest.raises(ConfigError) as caught:
        hub.catalogs.load(catalog_copy)
    assert caught.value.key.endswith("policy") and "is required" in str(caught.value)


def test_a_result_list_that_is_not_open_is_a_config_error(catalog_copy):
    codes = catalog_copy.parent / "codes" / "inv201-result.toml"
    codes.write_text(codes.read_text().replace("open = true\n", ""))
    with pytest.raises(ConfigError, match="inv201-result.toml must be open = true"):
        hub.catalogs.load(catalog_copy)


def test_a_strict_entry_cannot_declare_needs(catalog_copy):
    text = catalog_copy.read_text()
    catalog_copy.write_text(text.replace('type = "ZONE901"\npolicy = "strict"\n',
                                         'type = "ZONE901"\npolicy = "strict"\nneeds = ["BondInvtNo"]\n', 1))
    with pytest.raises(ConfigError, match="only a tolerant entry has needs"):
        hub.catalogs.load(catalog_copy)


# -- drift through the running hub ------------------------------------------------------------

def test_drift_is_journaled_and_counted_per_type_and_party_and_the_receipt_still_reaches_its_enterprise(
        running_hub, capsys):
    from exchange.drift import DriftLog
    from exchange.trace import event_text

    first = edited(RECEIPT, "<rmk>审核通过</rmk>", "<rmk>审核通过</rmk><fxCheckFlag>1</fxCheckFlag>")
    second = first.replace(b"CUS0000DXPENT00000160692026112810153000000000123",
                           b"CUS0000DXPENT00000160692026112810153000000000124")
    for name, data in (("first.xml", first), ("second.xml", second)):
        running_hub.drop("customs", data, name)
        running_hub.run_once()
    journal = running_hub.journal
    rows = {row["source_name"]: row for row in journal.documents()}
    assert [rows[name]["state"] for name in ("first.xml", "second.xml")] == ["DELIVERED", "DELIVERED"]
    assert sorted(p.read_bytes() for p in running_hub.files("etps-shenyang", "InBox")) == sorted([first, second])
    drift_events = [[e for e in journal.events(rows[name]["document_id"]) if e["kind"] == "SCHEMA_DRIFT"]
                    for name in ("first.xml", "second.xml")]
    assert [len(events) for events in drift_events] == [1, 1]
    fields = [events[0]["detail"]["fields"] for events in drift_events]
    path = f"{HDE}/fxCheckFlag"
    assert [(f[0]["kind"], f[0]["element"], f[0]["path"], f[0]["line"], f[0]["count"]) for f in fields] == [
        ("unknown-element", "fxCheckFlag", path, line_of(first, "<fxCheckFlag>"), 1),
        ("unknown-element", "fxCheckFlag", path, line_of(second, "<fxCheckFlag>"), 2)]
    assert fields[0][0]["first_seen"] == fields[1][0]["first_seen"]  # first seen with the first receipt
    (tally,) = DriftLog(journal).summary()
    assert {key: tally[key] for key in ("message_type", "endpoint", "kind", "path", "element", "documents",
                                        "last_document")} == {
        "message_type": "INV201", "endpoint": "customs", "kind": "unknown-element", "path": path,
        "element": "fxCheckFlag", "documents": 2, "last_document": rows["second.xml"]["document_id"]}
    assert tally["first_seen"] == fields[0][0]["first_seen"]
    assert event_text(drift_events[1][0]).startswith(f"accepted with schema drift: unknown-element {path} (first seen ")
    assert journal.verify_chain() is None  # the drift events are in the hash chain like any other
    capsys.readouterr()
    assert hub.main(["--config", str(running_hub.config), "--data-dir", str(running_hub.data_dir), "status"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "schema drift: 1 field authorities sent that the schemas do not describe (the console's Drift page has "
        "them all)", "  INV201 from customs: fxCheckFlag (unknown-element, 2 documents)"]


def test_drift_in_a_refused_document_is_journaled_too(running_hub):
    """An authority's receipt refused for a needed field still tells operators what else changed."""
    data = edited(RECEIPT, "<rmk>审核通过</rmk>", "<rmk>审核通过</rmk><fxCheckFlag>1</fxCheckFlag>")
    data = data.replace(b"<etpsPreentNo>080120261000012345</etpsPreentNo>", b"<etpsPreentNo>08 01</etpsPreentNo>")
    running_hub.drop("customs", data, "receipt.xml")
    running_hub.run_once()
    (row,) = running_hub.journal.documents()
    assert row["state"] == "REJECTED"
    kinds = [e["kind"] for e in running_hub.journal.events(row["document_id"])]
    assert "SCHEMA_DRIFT" in kinds and kinds.index("SCHEMA_DRIFT") < kinds.index("REJECTED")


# -- samples/tolerated: what a strict reading refused, and an authority may send -------------------

TOLERATED = {
    "CommonResponeMessage-positive-deal-flag.xml": ["unknown-code /CommonResponeMessage/DealFlag"],
    "DEC_DATA-several-errors.xml": ["unknown-code /DEC_DATA/DEC_RESULT/CHANNEL"],
    "DEC_RESULT-several-errors.xml": [],
    "DEC_RESULT-three-digit-channel.xml": ["unknown-code /DEC_RESULT/CHANNEL"],
    "DecImportResponse-missing-client-seq-no.xml": [],
    "DecImportResponse-several-errors.xml": ["unknown-code /DecImportResponse/ResponseCode",
                                             "unknown-element /DecImportResponse/EntryId"],
    "DxpRep-receiver-id-spelled-right.xml": ["unknown-element /DxpRep/ReceiverId"],
    "INV201-missing-manage-result.xml": [],
    "INV201-several-errors.xml": ["unexpected-value /Package/DataInfo/BussinessData/INV201/HdeApprResult/tmsCnt"],
    "INV202-bad-inv-preent-no.xml": [],
    "INV202-several-errors.xml": [],
    "INV211-several-errors.xml": [],
    "SAS200-result-type-spelled-right.xml": [
        "unknown-element /Package/DataInfo/BussinessData/SAS200/MsgReceResult/resultType"],
    "SAS200-several-errors.xml": [],
    "SAS221-missing-passport.xml": [],
    "SAS221-several-errors.xml": ["unknown-code /Package/DataInfo/BussinessData/SAS221/HdeApprResult/manageResult"],
    "SAS223-missing-passport-bsc.xml": [],
    "SAS223-several-errors.xml": ["unknown-element /Package/DataInfo/BussinessData/SAS223/CheckInfo/remark"],
    "SAS224-several-errors.xml": ["unknown-code /Package/DataInfo/BussinessData/SAS224/HdeApprResult/manageResult"],
    "SAS224-wrong-namespace.xml": ["unknown-code /Package/DataInfo/BussinessData/SAS224/HdeApprResult/manageResult"],
}


def test_the_tolerated_samples_are_each_accepted_with_exactly_their_drift(context):
    assert sorted(TOLERATED) == sorted(path.name for path in (SAMPLES / "tolerated").glob("*.xml"))
    for name, expected in TOLERATED.items():
        kind, _, drift = check_document((SAMPLES / "tolerated" / name).read_bytes(), context)
        assert kind.policy == "tolerant", name
        assert [f"{item.kind} {item.where}" for item in drift] == expected, name


# -- namespaces, repeats and comments: what a reader of the original would see -------------------

@pytest.mark.parametrize("sample, old, new, path, said", [
    ("etps-shenyang/INV101-import.xml", "<InvtHeadType>", '<x:InvtHeadType xmlns:x="urn:evil">', HEAD,
     "(InvtHeadType is in namespace 'urn:evil')"),
    ("catalog/DecMessage-h2010-minimal.xml", "<DecHead>", '<DecHead xmlns="urn:evil">', "/DecMessage/DecHead",
     "(DecHead is in namespace 'urn:evil')"),
    ("catalog/DecMessage-h2010-minimal.xml", "<DecHead>", '<DecHead xmlns="">', "/DecMessage/DecHead",
     "(DecHead has no namespace)"),
    ("catalog/REVIEW101-hub-application.xml", "<ApplicationId>", '<ApplicationId xmlns="urn:evil">',
     "/NetworkAccessApplication/ApplicationId", "(ApplicationId is in namespace 'urn:evil')"),
    ("catalog/ZONE901-hub-closing.xml", "<BondInvtNo>", '<BondInvtNo xmlns="">', "/ClosingNotice/BondInvtNo",
     "(BondInvtNo has no namespace)"),
])
def test_a_strict_document_with_a_field_in_another_namespace_is_refused_there(context, sample, old, new, path, said):
    """Strict documents may come in the namespace forms their entry declares, as a whole: one element
    moved into another namespace is not the field the schema means, and is refused where it is."""
    data = edited(SAMPLES / sample, old, new)
    if new.startswith("<x:"):
        data = data.replace(old.replace("<", "</").encode(), old.replace("<", "</x:").encode())
    with pytest.raises(InvalidDocument) as caught:
        check_document(data, context)
    first = caught.value.issues[0]
    assert (first.path, first.line) == (path, line_of(data, new))
    assert first.message.endswith(said), first.message


BAD_ID = ("<businessId>QD080126I000012345</businessId>", "<businessId>QD08 BAD</businessId>")
RECEIPT_TEXT = RECEIPT.read_text(encoding="utf-8")


def _block(name: str) -> str:
    return RECEIPT_TEXT[RECEIPT_TEXT.index(f"<{name}>"):RECEIPT_TEXT.index(f"</{name}>") + len(f"</{name}>")]


@pytest.mark.parametrize("repeated, where", [
    (_block("EnvelopInfo"), "/Package/EnvelopInfo[2]"),
    (_block("PocketInfo"), "/Package/DataInfo/PocketInfo[2]"),
    ("<tmsCnt>0</tmsCnt>", f"{HDE}/tmsCnt[2]"),
])
def test_a_repeated_block_neither_hides_a_bad_needed_field_nor_is_refused(context, repeated, where):
    """Tolerant reading drops what occurs more often than the schema allows (as drift); the fields the
    hub needs are still checked where they are."""
    text = RECEIPT_TEXT.replace(repeated, repeated + repeated, 1)
    kind, _, drift = check_document(text.encode("utf-8"), context)
    assert [(d.kind, d.path, d.line) for d in drift] == [
        ("repeated-element", where, line_of(text.encode("utf-8"), repeated) + repeated.count("\n"))]
    assert drift[0].message == (f"{where.rsplit('/', 1)[1].split('[')[0]} occurs more often than INV201.xsd "
                                "allows here: the first ones are read, this one is not")
    with pytest.raises(InvalidDocument) as caught:
        check_document(text.replace(*BAD_ID).encode("utf-8"), context)
    assert [(i.path, i.message[:10]) for i in caught.value.issues] == [(f"{HDE}/businessId", "'QD08 BAD'")]


def test_a_second_result_block_with_another_number_is_refused_as_ambiguous(context):
    hde = _block("HdeApprResult")
    text = RECEIPT_TEXT.replace(hde, hde + hde.replace(BAD_ID[0], "<businessId>QD080126I000099999</businessId>"), 1)
    with pytest.raises(InvalidDocument) as caught:
        check_document(text.encode("utf-8"), context)
    assert [(i.path, i.line, i.message) for i in caught.value.issues] == [(
        f"{HDE}[2]/businessId", line_of(text.encode("utf-8"), "QD080126I000099999"),
        "HdeApprResult/businessId appears with different values (QD080126I000012345, QD080126I000099999): which "
        "one identifies this INV201 is not known")]


def test_a_family_receipt_with_its_result_block_in_another_namespace_is_still_checked(context):
    data = edited(SAMPLES / "catalog" / "SAS299-customs-unknown-family.xml", "<etpsPreentNo>080120261000012346",
                  "<etpsPreentNo>0801 2026 NOT A NUMBER").replace(b"<HdeApprResult>", b'<HdeApprResult xmlns="urn:x">')
    with pytest.raises(InvalidDocument) as caught:
        check_document(data, context)
    assert [(i.path, i.line, i.message[:24]) for i in caught.value.issues] == [
        ("/Package/DataInfo/BussinessData/SAS299/HdeApprResult/etpsPreentNo", line_of(data, "<etpsPreentNo>"),
         "'0801 2026 NOT A NUMBER'")]


def test_a_comment_inside_a_needed_field_is_read_around(context):
    """A value is its text with comments left out, everywhere the hub reads one."""
    good = RECEIPT_TEXT.replace(BAD_ID[0], "<businessId>QD0801<!-- split -->26I000012345</businessId>")
    kind, document, drift = check_document(good.encode("utf-8"), context)
    assert (kind.type, document.envelope.business_id, drift) == ("INV201", "QD080126I000012345", [])
    bad = RECEIPT_TEXT.replace(BAD_ID[0], "<businessId>QD08<!---->0126 1</businessId>")
    with pytest.raises(InvalidDocument) as caught:
        check_document(bad.encode("utf-8"), context)
    assert [i.message[:13] for i in caught.value.issues] == ["'QD080126 1' "]


def test_a_field_added_to_a_schema_is_read_after_a_reload_without_a_restart(tmp_path):
    """Field models are cached per schema file version: an agency's schema edit takes effect on the
    next reload in the same process, and the field stops being reported as drift."""
    for folder in ("config", "schemas", "routes"):
        shutil.copytree(HOME / folder, tmp_path / folder)
    data = RECEIPT_TEXT.replace("<tmsCnt>0</tmsCnt>", "<tmsCnt>0</tmsCnt><fxCheckFlag>1</fxCheckFlag>").encode()

    def drift() -> list[str]:
        context = hub.assemble(tmp_path / "config" / "hub.toml", tmp_path / "data").context
        return [d.element for d in check_document(data, context)[2]]

    assert drift() == ["fxCheckFlag"]
    blocks = tmp_path / "schemas" / "receipts" / "blocks.xsd"
    text = blocks.read_text(encoding="utf-8")
    known = '<xs:element name="rmk" type="TextOrEmpty" minOccurs="0"/>\n    </xs:all>'
    assert known in text
    blocks.write_text(text.replace(known, known.replace(
        "\n    </xs:all>", '\n      <xs:element name="fxCheckFlag" type="CodeOrEmpty" minOccurs="0"/>\n    </xs:all>'),
        1), encoding="utf-8")
    assert drift() == []


def test_two_business_blocks_naming_two_numbers_are_refused_even_when_the_xsd_allows_both(context):
    """SAS222 may carry several SasPassportBsc: valid as it is, yet which pass form it answers is unknown."""
    sas222 = SAMPLES / "catalog" / "SAS222-customs.xml"
    second = ("<SasPassportBsc><passportNo>Z0801I261128999999999999</passportNo>"
              "<rltNo>QD080126I000099999</rltNo></SasPassportBsc></SAS222>")
    data = edited(sas222, "</SAS222>", second)
    with pytest.raises(InvalidDocument) as caught:
        check_document(data, context)
    assert [(i.path, i.message.split(" appears")[0]) for i in caught.value.issues] == [
        ("/Package/DataInfo/BussinessData/SAS222/SasPassportBsc[2]/passportNo", "SasPassportBsc/passportNo"),
        ("/Package/DataInfo/BussinessData/SAS222/SasPassportBsc[2]/rltNo", "SasPassportBsc/rltNo")]


@pytest.mark.parametrize("unknown", ["", "<fxCheckFlag>1</fxCheckFlag>"])
def test_a_needed_number_with_an_ideographic_space_gets_one_outcome_as_it_is_or_copied(context, unknown):
    """Needed values are judged by one engine whether or not the document needed a copy."""
    text = RECEIPT_TEXT.replace(BAD_ID[0], "<businessId>QD0801\u300026I000012345</businessId>" + unknown)
    with pytest.raises(InvalidDocument) as caught:
        check_document(text.encode("utf-8"), context)
    assert [i.path for i in caught.value.issues] == [f"{HDE}/businessId"]
