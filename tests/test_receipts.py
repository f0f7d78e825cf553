"""Receipts find their originals, go back to the original's sender, and are expected in time;
a clearance result for a zone inventory becomes the zone's automatic-closing notice."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import pytest
from lxml import etree

import hub
from conftest import HOME, copy_default_config
from deployment import wait_until
from exchange.journal import now
from exchange.routing import Router

INV202_KEYS = ("080120261000012345", "QD080126I000012345", "I20260000801234567")


def cli(running_hub, *args: str) -> int:
    return hub.main(["--config", str(running_hub.config), "--data-dir", str(running_hub.data_dir), *args])


def _by_type(running_hub) -> dict[str, dict]:
    return {d["message_type"]: d for d in running_hub.journal.documents()}


def _kinds(running_hub, document_id: str) -> list[str]:
    return [e["kind"] for e in running_hub.journal.events(document_id)]


def test_a_receipt_is_correlated_to_its_original_and_routed_back_to_its_sender(running_hub, sample):
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.run_once()
    (expectation,) = running_hub.journal.expectations()
    assert (expectation["receipt_type"], expectation["state"]) == ("INV201", "WAITING") and expectation["due_at"]
    running_hub.drop("customs", sample("customs/INV201-receipt.xml"))
    running_hub.run_once()
    documents = _by_type(running_hub)
    original, receipt = documents["INV101"], documents["INV201"]
    assert receipt["state"] == "DELIVERED"
    assert [p.name.startswith("INV201_") for p in running_hub.files("etps-shenyang", "InBox")] == [True]
    correlated = [e for e in running_hub.journal.events(receipt["document_id"]) if e["kind"] == "CORRELATED"]
    assert correlated[0]["detail"]["original"] == original["document_id"]
    (mark,) = [e for e in running_hub.journal.events(original["document_id"]) if e["kind"] == "RECEIPT"]
    assert mark["detail"]["state"] == "RECEIVED" and mark["detail"]["receipt"] == receipt["document_id"]
    assert set(mark["detail"]["learnt_keys"]) >= {"seq_no", "bond_invt_no"}  # numbers customs assigned
    assert running_hub.journal.expectations()[0]["state"] == "RECEIVED"


def test_a_later_receipt_finds_the_original_by_the_numbers_the_first_receipt_assigned(running_hub, sample):
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.run_once()
    running_hub.drop("customs", sample("customs/INV201-receipt.xml"))
    running_hub.run_once()
    running_hub.drop("customs", sample("customs/INV202-receipt.xml"))  # carries no EtpsInnerInvtNo
    running_hub.run_once()
    documents = _by_type(running_hub)
    correlated = [e for e in running_hub.journal.events(documents["INV202"]["document_id"])
                  if e["kind"] == "CORRELATED"]
    assert correlated and correlated[0]["detail"]["original"] == documents["INV101"]["document_id"]


def test_an_overdue_receipt_raises_an_alert_and_a_late_one_is_recorded_as_late(running_hub, sample, capsys):
    engine, router = running_hub.engine, running_hub.engine.context.router
    rules = [dataclasses.replace(rule, expects=(("INV201", 0.2),)) if rule.expects and "INV101" in rule.types
             else rule for rule in router.rules]
    engine.context = dataclasses.replace(engine.context, router=Router(rules, router.endpoint_ids))
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.run_once()
    (waiting,) = running_hub.journal.expectations()
    assert wait_until(lambda: now() > waiting["due_at"], timeout=10, step=0.02)  # the receipt is overdue now
    running_hub.engine.scan_interval = 0.0
    running_hub.run_once()
    (original,) = running_hub.journal.documents()
    overdue = [e for e in running_hub.journal.events(original["document_id"]) if e["kind"] == "RECEIPT_OVERDUE"]
    assert len(overdue) == 1 and "no INV201 from customs within 0.2s" in overdue[0]["reason"]
    capsys.readouterr()
    assert cli(running_hub, "status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert [row["document_id"] for row in status["receipts_overdue"]] == [original["document_id"]]
    running_hub.run_once()  # alerted once, not on every scan
    assert _kinds(running_hub, original["document_id"]).count("RECEIPT_OVERDUE") == 1

    running_hub.drop("customs", sample("customs/INV201-receipt.xml"))
    running_hub.run_once()
    assert running_hub.journal.expectations()[0]["state"] == "LATE"
    assert cli(running_hub, "status") == 0
    assert "LATE     INV201 from customs" in capsys.readouterr().out


@pytest.mark.parametrize("result_sample, action, text", [
    ("h2010/DEC_RESULT-cleared.xml", "CLOSE",
     "报关单 080120261000456789 回执通道 7 为结关通道：关联核注清单 QD080126I000012345 自动结关"),
    ("h2010/DEC_RESULT-inspection.xml", "HOLD",
     "报关单 080120261000456789 回执通道 C 不在结关通道 (7) 之中：核注清单 QD080126I000012345 保持未结关"),
])
def test_a_clearance_result_for_a_zone_list_sends_the_zone_its_closing_notice(running_hub, sample, result_sample,
                                                                             action, text):
    """Channel 7 closes the zone's list; any other (an inspection notice, C) holds it open."""
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.run_once()
    running_hub.drop("customs", sample("customs/INV202-receipt.xml"))  # names the list and the declaration
    running_hub.run_once()
    running_hub.drop("h2010", sample(result_sample))
    running_hub.run_once()
    result = _by_type(running_hub)["DEC_RESULT"]
    assert result["state"] == "DELIVERED", result
    (notice,) = running_hub.files("zone", "InBox")
    root = etree.fromstring(notice.read_bytes())
    ns = {"z": "urn:customs-hub:zone:1"}
    assert root.findtext("z:BondInvtNo", namespaces=ns) == "QD080126I000012345"
    assert root.findtext("z:EntryId", namespaces=ns) == "080120261000456789"
    assert (root.findtext("z:ClosingInstruction/z:Action", namespaces=ns),
            root.findtext("z:ClosingInstruction/z:Text", namespaces=ns)) == (action, text)
    converted = [e for e in running_hub.journal.events(result["document_id"]) if e["kind"] == "CONVERTED"]
    assert converted[0]["detail"]["params"] == {"bondInvtNo": "QD080126I000012345"}


def test_a_clearance_result_no_zone_list_names_is_answered_as_unroutable(running_hub, sample):
    running_hub.drop("h2010", sample("h2010/DEC_RESULT-cleared.xml"))
    running_hub.run_once()
    (result,) = running_hub.journal.documents()
    assert result["state"] == "REJECTED"
    assert "no bond_invt_no in this document or in any document correlated with it" in result["reason"]
    assert running_hub.files("zone", "InBox") == []
    assert len(running_hub.files("h2010", "InBox")) == 1  # the sender is told why


def test_a_receipt_goes_only_to_the_party_it_is_addressed_to_even_when_another_shares_its_numbers(tmp_path, sample,
                                                                                                   backend):
    """Two enterprises number their lists alike; customs' receipt for one never reaches the other."""
    config = backend.configure(copy_default_config(tmp_path)).parent
    dalian = (config / "endpoints" / "etps-shenyang.toml").read_text().replace(
        '"DXPENT0000016069", "2101980456"]', '"DXPENT0000020001"]')
    dalian = dalian.replace('"2101940123", "2101980456"', '"2102950789"').replace('"etps-shenyang"', '"etps-dalian"')
    (config / "endpoints" / "etps-dalian.toml").write_text(dalian)
    engine = hub.open_engine(hub.assemble(config / "hub.toml", tmp_path / "data"))
    try:
        shenyang_list = sample("etps-shenyang/INV101-import.xml").read_bytes()
        dalian_list = shenyang_list.replace(b"DXPENT0000016069", b"DXPENT0000020001").replace(
            b"2101940123", b"2102950789").replace(b"2101980456", b"2102950789")  # the same EtpsInnerInvtNo
        for endpoint, data in (("etps-dalian", dalian_list), ("etps-shenyang", shenyang_list),
                               ("customs", sample("customs/INV201-receipt.xml").read_bytes())):
            (engine.inbound[endpoint].outbox / "doc.xml").write_bytes(data)
            engine.run(once=True)
        inbox = lambda name: sorted(p.name for p in (tmp_path / "data" / name / "InBox").iterdir())
        assert [n[:7] for n in inbox("etps-shenyang")] == ["INV201_"]
        assert inbox("etps-dalian") == []
        lists = {d["endpoint"]: d for d in engine.journal.documents() if d["message_type"] == "INV101"}
        learnt = [e for e in engine.journal.events(lists["etps-dalian"]["document_id"]) if e["kind"] == "RECEIPT"]
        assert learnt == []  # Dalian's list did not learn Shenyang's numbers
    finally:
        engine.close()


def _with_dalian(tmp_path, backend) -> hub.Engine:
    """The embedded default plus a second enterprise, Dalian, with its own broker code 2102950789."""
    config = backend.configure(copy_default_config(tmp_path)).parent
    dalian = (config / "endpoints" / "etps-shenyang.toml").read_text().replace(
        '"DXPENT0000016069", "2101980456"]', '"DXPENT0000020001", "2102950789"]')
    dalian = dalian.replace('"2101940123", "2101980456"', '"2102950789"').replace('"etps-shenyang"', '"etps-dalian"')
    (config / "endpoints" / "etps-dalian.toml").write_text(dalian)
    return hub.open_engine(hub.assemble(config / "hub.toml", tmp_path / "data"))


def test_an_answer_naming_nobody_to_a_number_two_parties_used_is_refused_and_reaches_neither(tmp_path, sample,
                                                                                            backend):
    """H2010's DecImportResponse names no receiver, only the ClientSeqNo: when two enterprises used
    the same one, the hub cannot know whose it is, and says so rather than guess."""
    engine = _with_dalian(tmp_path, backend)
    try:
        shenyang = sample("h2010/DecMessage-import.xml").read_bytes()
        dalian = shenyang.replace(b"2101980456", b"2102950789").replace(b"2101940123", b"2102950789")
        for endpoint, data in (("etps-shenyang", shenyang), ("etps-dalian", dalian),
                               ("h2010", sample("h2010/DecImportResponse-accepted.xml").read_bytes())):
            (engine.inbound[endpoint].outbox / "doc.xml").write_bytes(data)
            engine.run(once=True)
        states = [(d["endpoint"], d["message_type"], d["state"], d["reason"]) for d in engine.journal.documents()]
        assert sorted(states) == [
            ("etps-dalian", "DecMessage", "DELIVERED", ""),
            ("etps-shenyang", "DecMessage", "DELIVERED", ""),
            ("h2010", "DecImportResponse", "REJECTED", "no route for DecImportResponse from endpoint h2010 (it answers "
             "documents of etps-dalian, etps-shenyang, and names none of them)")]
        inbox = lambda name: sorted(p.name for p in (tmp_path / "data" / name / "InBox").iterdir())
        assert inbox("etps-shenyang") == inbox("etps-dalian") == []
    finally:
        engine.close()


def test_a_declaration_naming_no_broker_code_is_refused_as_unauthorised(tmp_path, sample, backend):
    """A bare DecMessage's sender is its DecSign/CopCode: left empty, it is no one the endpoint may be."""
    engine = _with_dalian(tmp_path, backend)
    try:
        data = sample("h2010/DecMessage-import.xml").read_bytes().replace(
            b"<CopCode>2101980456</CopCode>\n\t\t<OperName>", b"<CopCode/>\n\t\t<OperName>")
        assert b"<CopCode/>" in data
        (engine.inbound["etps-dalian"].outbox / "doc.xml").write_bytes(data)
        engine.run(once=True)
        (row,) = engine.journal.documents()
        assert (row["state"], row["reason"]) == (
            "REJECTED", "endpoint etps-dalian may not send as (no sender id); its sender ids are "
            "DXPENT0000020001, 2102950789")
        assert [p.name[:17] for p in (tmp_path / "data" / "etps-dalian" / "InBox").iterdir()] == ["Failed_DecMessage"]
    finally:
        engine.close()


def _failure_ack(message: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<CommonResponeMessage>\n\t<SeqNo/>\n'
            '\t<EtpsPreentNo>HC2026112800001</EtpsPreentNo>\n'
            f'\t<CheckInfo>{message}</CheckInfo>\n\t<DealFlag>-1</DealFlag>\n</CommonResponeMessage>\n').encode()


def test_two_different_failure_acks_for_one_list_both_reach_the_enterprise(running_hub, sample):
    """A bare answer carries no message id of its own: only the same bytes twice are a resend."""
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.run_once()
    for n, message in enumerate(("导入失败：表头[申报地海关]不能为空", "导入失败：表体第2项[商品编码]错误",
                                 "导入失败：表体第2项[商品编码]错误")):
        running_hub.drop("customs", _failure_ack(message), f"ack{n}.xml")
        running_hub.run_once()
    acks = [d for d in running_hub.journal.documents() if d["message_type"] == "CommonResponeMessage"]
    assert sorted((d["source_name"], d["message_id"], d["state"]) for d in acks) == [
        ("ack0.xml", "", "DELIVERED"), ("ack1.xml", "", "DELIVERED"), ("ack2.xml", "", "DUPLICATE")]
    delivered = sorted(p.read_bytes() for p in running_hub.files("etps-shenyang", "InBox"))
    assert [b"\xe8\xa1\xa8\xe5\xa4\xb4" in body for body in delivered].count(True) == 1  # 表头: the first
    assert len(delivered) == 2


def test_the_number_h2010_gave_one_partys_declaration_tells_its_answers_from_anothers(tmp_path, sample, backend):
    """Shenyang's declaration learns its unified number from its first answer; Dalian then reuses the
    ClientSeqNo. Each later answer goes by the unified number it carries, to the one declaration that
    holds it (or, for a new one, to the one holding none), never to the other party."""
    engine = _with_dalian(tmp_path, backend)
    try:
        shenyang = sample("h2010/DecMessage-import.xml").read_bytes()
        dalian = shenyang.replace(b"2101980456", b"2102950789").replace(b"2101940123", b"2102950789")
        answer = sample("h2010/DecImportResponse-accepted.xml").read_bytes()
        again = answer.replace("导入成功".encode(), "导入成功 (2)".encode())
        for_dalian = answer.replace(b"I20260000801234567", b"I20260000801239999")
        for endpoint, name, data in (("etps-shenyang", "1.xml", shenyang), ("h2010", "2.xml", answer),
                                     ("etps-dalian", "3.xml", dalian), ("h2010", "4.xml", again),
                                     ("h2010", "5.xml", for_dalian)):
            (engine.inbound[endpoint].outbox / name).write_bytes(data)
            engine.run(once=True)
        answers = {d["source_name"]: d for d in engine.journal.documents() if d["endpoint"] == "h2010"}
        assert {name: row["state"] for name, row in answers.items()} == {
            "2.xml": "DELIVERED", "4.xml": "DELIVERED", "5.xml": "DELIVERED"}
        delivered = {name: [e["endpoint"] for e in engine.journal.events(row["document_id"])
                            if e["kind"] == "DELIVERED"] for name, row in answers.items()}
        assert delivered == {"2.xml": ["etps-shenyang"], "4.xml": ["etps-shenyang"], "5.xml": ["etps-dalian"]}
    finally:
        engine.close()


def test_the_receipt_a_route_awaits_is_due_within_the_written_duration(running_hub, sample):
    """routes/enterprise.toml awaits customs' INV201 `within = "30m"`: due 1,800 s after the list was
    delivered, not 30 s (no deadline overridden here)."""
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.run_once()
    (expectation,) = running_hub.journal.expectations()
    assert (expectation["receipt_type"], expectation["endpoint"], expectation["within_s"]) == ("INV201", "customs",
                                                                                              1800.0)
    due = datetime.fromisoformat(expectation["due_at"]) - datetime.fromisoformat(expectation["updated_at"])
    assert 1800 <= due.total_seconds() < 1801
