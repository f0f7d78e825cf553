"""What an operator does when something failed: list it, send it again, check the journal."""

from __future__ import annotations

import dataclasses
import json

import hub
from exchange.config import RetryPolicy


def cli(running_hub, *args: str) -> int:
    return hub.main(["--config", str(running_hub.config), "--data-dir", str(running_hub.data_dir), *args])


def _break_customs(running_hub):
    inbox = running_hub.folder("customs", "InBox")
    inbox.rmdir()
    inbox.write_text("not a folder")
    endpoints = running_hub.engine.context.endpoints
    endpoints["customs"] = dataclasses.replace(endpoints["customs"], retry=RetryPolicy(2, 0.001, 0.001))
    running_hub.engine.scan_interval = 0.0
    return inbox


def test_a_dead_delivery_is_listed_resubmitted_by_an_operator_and_delivered(running_hub, sample, capsys):
    inbox = _break_customs(running_hub)
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    (delivery,) = running_hub.journal.deliveries(document["document_id"])
    assert delivery["state"] == "DEAD"
    capsys.readouterr()
    assert cli(running_hub, "failed", "--json") == 0
    failed = json.loads(capsys.readouterr().out)
    assert [d["delivery_id"] for d in failed["dead"]] == [delivery["delivery_id"]]
    assert "customs" in failed["dead"][0]["last_error"]

    inbox.unlink()
    inbox.mkdir()  # the partner is back
    assert cli(running_hub, "resubmit", delivery["delivery_id"], "--by", "wang.li", "--reason", "customs is back") == 0
    assert "queued again" in capsys.readouterr().out
    running_hub.run_once()
    assert len(running_hub.files("customs", "InBox")) == 1
    assert running_hub.journal.document(document["document_id"])["state"] == "DELIVERED"
    resubmitted = [e for e in running_hub.journal.events(document["document_id"]) if e["kind"] == "RESUBMITTED"]
    assert resubmitted[0]["detail"]["by"] == "wang.li" and resubmitted[0]["reason"] == "customs is back"
    assert cli(running_hub, "failed", "--json") == 0
    assert json.loads(capsys.readouterr().out)["dead"] == []


def test_a_refused_document_is_resubmitted_corrected_as_a_new_version(running_hub, sample, tmp_path, capsys):
    good = sample("etps-shenyang/INV101-import.xml").read_bytes()
    bad = good.replace(b"<DclCurrcd>502</DclCurrcd>", b"<DclCurrcd>999</DclCurrcd>", 1)
    running_hub.drop("etps-shenyang", bad, name="INV101-typo.xml")
    running_hub.run_once()
    (original,) = running_hub.journal.documents()
    assert original["state"] == "REJECTED"
    capsys.readouterr()
    assert cli(running_hub, "failed") == 0
    assert original["document_id"] in capsys.readouterr().out

    fixed = tmp_path / "fixed.xml"
    fixed.write_bytes(good)
    assert cli(running_hub, "resubmit", original["document_id"], "--file", str(fixed), "--by", "zhao.min",
               "--reason", "currency corrected to USD with the enterprise") == 0
    assert "accepted" in capsys.readouterr().out
    running_hub.run_once()
    documents = {d["document_id"]: d for d in running_hub.journal.documents()}
    (new,) = [d for d in documents.values() if d["resubmission_of"] == original["document_id"]]
    assert new["state"] == "DELIVERED" and new["endpoint"] == "etps-shenyang"
    assert [p.read_bytes() for p in running_hub.files("customs", "InBox")] == [good]
    received = running_hub.journal.events(new["document_id"])[0]
    assert received["detail"]["resubmission"] == {"of": original["document_id"], "by": "zhao.min",
                                                  "reason": "currency corrected to USD with the enterprise",
                                                  "corrected": True}
    marks = [e for e in running_hub.journal.events(original["document_id"]) if e["kind"] == "RESUBMITTED"]
    assert marks[0]["detail"]["as"] == new["document_id"]
    assert cli(running_hub, "failed", "--json") == 0
    assert json.loads(capsys.readouterr().out)["refused"] == []  # replaced, no longer waiting


def test_resubmitting_unchanged_bytes_is_processed_again_not_taken_for_a_duplicate(running_hub, sample, capsys):
    bad = sample("etps-shenyang/INV101-import.xml").read_bytes().replace(b"<DclCurrcd>502<", b"<DclCurrcd>999<", 1)
    running_hub.drop("etps-shenyang", bad, name="INV101-typo.xml")
    running_hub.run_once()
    (original,) = running_hub.journal.documents()
    assert cli(running_hub, "resubmit", original["document_id"], "--reason", "try again") == 1
    assert "refused again" in capsys.readouterr().out
    running_hub.run_once()
    answers = running_hub.files("etps-shenyang", "InBox")
    assert len(answers) == 2  # the sender is told again why


def test_nothing_to_resubmit_is_said_plainly(running_hub, sample, capsys):
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    assert cli(running_hub, "resubmit", document["document_id"], "--reason", "why not") == 1
    assert "DELIVERED with no DEAD delivery" in capsys.readouterr().err
    assert cli(running_hub, "resubmit", "no-such-id", "--reason", "x") == 1
    assert "nothing in the journal" in capsys.readouterr().err


def test_audit_verify_names_the_first_altered_event(running_hub, sample, capsys):
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.drop("etps-shenyang", sample("etps-shenyang/SAS121-pass.xml"))
    running_hub.run_once()
    capsys.readouterr()
    assert cli(running_hub, "audit", "verify") == 0
    assert "is whole" in capsys.readouterr().out
    running_hub.backend.unguard("update")
    ((seq, document_id),) = running_hub.backend.raw(
        "SELECT seq, document_id FROM events WHERE kind='VALIDATED' ORDER BY seq LIMIT 1")
    running_hub.backend.raw("UPDATE events SET reason='nothing to see' WHERE seq=?", (seq,))
    assert cli(running_hub, "audit", "verify", "--json") == 3
    report = json.loads(capsys.readouterr().out)
    assert report["broken"]["seq"] == seq and report["broken"]["document_id"] == document_id
    assert "altered" in report["broken"]["why"] and report["events"] == seq - 1
