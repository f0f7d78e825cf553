"""The command line, as an operator uses it."""

from __future__ import annotations

import json
import re
import shutil

import hub

from conftest import SAMPLES


def run(capsys, *argv):
    code = hub.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_exits_0_for_valid_documents(capsys):
    code, out, _ = run(capsys, "validate", str(SAMPLES / "etps-shenyang/INV101-import.xml"),
                       str(SAMPLES / "zone/SAS221-receipt.xml"))
    assert code == 0
    assert "valid INV101/enterprise" in out and "valid SAS221/customs" in out


def test_validate_lists_every_error_with_file_line_and_path(capsys):
    bad = SAMPLES / "invalid/INV101-several-errors.xml"
    code, out, _ = run(capsys, "validate", str(SAMPLES / "etps-shenyang/INV101-import.xml"), str(bad))
    assert code == 1
    error_lines = [line.split(": ", 2)[:2] for line in out.splitlines() if line.startswith(f"  {bad}:line ")]
    lines = "/Signature/Object/Package/DataInfo/BussinessData/InvtMessage/"
    assert error_lines == [[f"  {bad}:line 34", lines + "InvtHeadType/BondInvtNo"],
                           [f"  {bad}:line 66", lines + "InvtListType[2]/DclUnitcd"],
                           [f"  {bad}:line 67", lines + "InvtListType[3]/DclQty"]]


def test_validate_json_reports_structured_issues(capsys):
    code, out, _ = run(capsys, "validate", "--json", str(SAMPLES / "invalid/INV101-several-errors.xml"))
    assert code == 1
    (result,) = json.loads(out)
    assert result["status"] == "invalid"
    lines = "/Signature/Object/Package/DataInfo/BussinessData/InvtMessage/"
    assert [(issue["line"], issue["path"], issue["message"]) for issue in result["issues"]] == [
        (34, lines + "InvtHeadType/BondInvtNo",
         "value doesn't match any pattern of ['QD[0-9]{4}[0-9]{2}[IE][0-9]{9}']"),
        (66, lines + "InvtListType[2]/DclUnitcd", "Unexpected child with tag 'DclUnitcd' at position 4. Tag 'GdsNm' "
                                                   "expected."),
        (67, lines + "InvtListType[3]/DclQty", "invalid value 'abc' for xs:decimal")]
    assert {issue["file"] for issue in result["issues"]} == {str(SAMPLES / "invalid/INV101-several-errors.xml")}


def test_validate_refuses_hostile_input_with_the_reason(capsys):
    code, out, _ = run(capsys, "validate", str(SAMPLES / "hostile/billion-laughs.xml"))
    assert code == 2
    assert "refused" in out and "DOCTYPE" in out


def test_inspect_prints_the_envelope_facts_as_plain_strings(capsys):
    code, out, _ = run(capsys, "inspect", str(SAMPLES / "etps-shenyang/SAS121-pass.xml"))
    assert code == 0
    facts = json.loads(out)
    assert facts["message_type"] == "SAS121"
    assert facts["sender"] == "DXPENT0000016069"
    assert facts["receivers"] == ["DXPZONE080100001"]
    assert isinstance(facts["message_id"], str) and facts["message_id"]
    assert facts["catalog"]["dialect"] == "enterprise"
    assert facts["keys"]["rlt_no"].startswith("QD")


def test_route_shows_destinations_and_maps_without_sending(capsys, tmp_path):
    code, out, _ = run(capsys, "--data-dir", str(tmp_path), "route", str(SAMPLES / "etps-shenyang/SAS121-pass.xml"))
    assert code == 0
    assert "-> zone (map sas121-enterprise-to-customs, route pass-forms-to-zone" in out
    assert not any(tmp_path.iterdir())  # nothing was written


def test_run_once_then_trace_by_business_number(capsys, tmp_path):
    outbox = tmp_path / "etps-shenyang" / "OutBox"
    outbox.mkdir(parents=True)
    shutil.copy(SAMPLES / "etps-shenyang/INV101-import.xml", outbox)
    assert run(capsys, "--data-dir", str(tmp_path), "run", "--once")[0] == 0
    shutil.copy(SAMPLES / "customs/INV201-receipt.xml", tmp_path / "customs" / "OutBox")
    assert run(capsys, "--data-dir", str(tmp_path), "run", "--once")[0] == 0
    # the enterprise's own number finds the inventory list and the customs receipt that echoes it
    code, out, _ = run(capsys, "--data-dir", str(tmp_path), "trace", "HC2026112800001")
    assert code == 0
    assert re.search(r"#1 INV101 +\w{32}  from etps-shenyang \(INV101-import.xml\)  DELIVERED", out)
    assert re.search(r"#2 INV201 +\w{32}  from customs \(INV201-receipt.xml\)  DELIVERED", out)
    for kind in ("RECEIVED", "VALIDATED", "ROUTED", "QUEUED", "DELIVERED", "CORRELATED", "RECEIPT"):
        assert kind in out
    # the list number customs assigned finds both; --json gives the same story for tools
    code, out, _ = run(capsys, "--data-dir", str(tmp_path), "trace", "--json", "QD080126I000012345")
    story = json.loads(out)
    assert [d["document"]["message_type"] for d in story["documents"]] == ["INV101", "INV201"]
    assert [d["endpoint"] for d in story["documents"][1]["deliveries"]] == ["etps-shenyang"]
    assert [e["seq"] for e in story["timeline"]] == sorted(e["seq"] for e in story["timeline"])


def test_trace_of_an_unknown_number_says_so_and_writes_nothing(capsys, tmp_path):
    code, _, err = run(capsys, "--data-dir", str(tmp_path), "trace", "QD000000X000000000")
    assert code == 1 and "no journal" in err
    assert list(tmp_path.iterdir()) == []


def test_inspect_shows_the_inner_document_of_a_dxp_message(capsys):
    code, out, _ = run(capsys, "inspect", str(SAMPLES / "dxp/SAS121-pass-over-dxp.xml"))
    assert code == 0
    facts = json.loads(out)
    assert (facts["shape"], facts["message_id"]) == ("dxp", "7d1f0e52-3c4b-4a8e-9f61-2b8c5d0e9a13")
    assert facts["inner"]["message_type"] == "SAS121"
    assert facts["inner"]["message_id"] == "DXPENT0000016069202611281120000000007"
    assert facts["inner"]["keys"]["etps_inner_no"] == "HCP2026112800002"


def test_demo_refuses_to_wipe_a_folder_that_is_not_a_demo(capsys, tmp_path):
    (tmp_path / "journal.sqlite").write_text("precious")
    code, _, err = run(capsys, "--data-dir", str(tmp_path), "demo")
    assert code == 2 and "not a demo folder" in err
    assert (tmp_path / "journal.sqlite").read_text() == "precious"


def test_lint_passes_on_the_embedded_default(capsys):
    code, out, err = run(capsys, "lint")
    assert code == 0, err
    assert "route tests passed" in out


def test_test_routes_runs_the_tests_beside_the_rules(capsys):
    code, out, _ = run(capsys, "test-routes")
    assert code == 0
    assert " 0 failed" in out and "ok   enterprise.toml" in out


def test_schemas_lists_every_type_with_its_dialects_keys_and_routes(capsys):
    code, out, _ = run(capsys, "schemas", "--json")
    assert code == 0
    listing = {row["type"]: row for row in json.loads(out)}
    assert set(listing) == hub.assemble(hub.DEFAULT_CONFIG).catalog.types()
    inventory = listing["INV101"]
    assert {form["dialect"] for form in inventory["forms"]} == {"enterprise", "customs"}
    assert {"seq_no", "etps_inner_no", "bond_invt_no", "business_id"} <= set(inventory["keys"])
    assert inventory["routes"] == ["inventory-lists-to-customs"]
    assert "inv101-enterprise-to-customs" in inventory["maps"]
