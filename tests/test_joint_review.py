"""The six-agency joint review: one application scattered to six agencies, their verdicts
gathered into one decision for the enterprise, when all have answered or time is up."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

from lxml import etree

import hub
from conftest import SAMPLES
from deployment import wait_until
from exchange.journal import open_journal

AGENCIES = ("customs", "tax", "safe", "commerce", "market", "ciq")
R = {"r": "urn:customs-hub:review:1"}


def cli(running_hub, *args: str) -> int:
    return hub.main(["--config", str(running_hub.config), "--data-dir", str(running_hub.data_dir), *args])


def verdict(agency: str, **changes: str) -> bytes:
    data = (SAMPLES / f"review/{agency.upper()}-verdict.xml").read_bytes()
    for old, new in changes.items():
        data = data.replace(old.encode(), new.encode())
    return data


def apply(running_hub) -> dict:
    running_hub.drop("etps-shenyang", SAMPLES / "catalog/REVIEW101-hub-application.xml")
    running_hub.run_once()
    (application,) = running_hub.journal.documents()
    return application


def decision(running_hub) -> etree._Element:
    (answer,) = [p for p in running_hub.files("etps-shenyang", "InBox") if p.name.startswith("REVIEW131_")]
    return etree.fromstring(answer.read_bytes())


def results(root) -> dict[str, str]:
    return {r.findtext("r:Agency", namespaces=R): r.findtext("r:Verdict", namespaces=R)
            for r in root.findall("r:AgencyResult", R)}


def test_an_application_reaches_six_agencies_and_their_verdicts_become_one_decision(running_hub):
    application = apply(running_hub)
    for agency in AGENCIES:  # each agency gets only its own part
        (request,) = running_hub.files(f"agency-{agency}", "InBox")
        assert etree.fromstring(request.read_bytes()).findtext("r:Agency", namespaces=R) == agency.upper()
    for agency in AGENCIES[:5]:
        running_hub.drop(f"agency-{agency}", verdict(agency))
    running_hub.run_once()
    assert not [p for p in running_hub.files("etps-shenyang", "InBox") if p.name.startswith("REVIEW131_")]
    running_hub.drop("agency-ciq", verdict("ciq"))
    running_hub.run_once()
    root = decision(running_hub)
    assert root.findtext("r:Decision", namespaces=R) == "INCOMPLETE"  # SAFE needs more information
    assert results(root) == {"CUSTOMS": "APPROVED", "TAX": "APPROVED", "SAFE": "NEEDS_INFO",
                             "COMMERCE": "APPROVED", "MARKET": "APPROVED", "CIQ": "APPROVED"}
    safe = root.find("r:AgencyResult[r:Agency='SAFE']", R)
    assert len(safe.findall("r:Reason", R)) == 2
    assert root.findtext("r:Header/r:ReceiverId", namespaces=R) == "DXPENT0000016069"
    decided = [e for e in running_hub.journal.events(application["document_id"]) if e["kind"] == "DECIDED"]
    assert decided[0]["detail"]["silent"] == [] and "every member answered" in decided[0]["reason"]


def test_all_approved_is_approved_and_one_rejection_rejects(running_hub):
    apply(running_hub)
    for agency in AGENCIES:
        changes = {"NEEDS_INFO": "APPROVED"} if agency == "safe" else {}
        if agency == "tax":
            changes = {"<Verdict>APPROVED</Verdict>": "<Verdict>REJECTED</Verdict><Reason>纳税信用等级为D级</Reason>"}
        running_hub.drop(f"agency-{agency}", verdict(agency, **changes))
    running_hub.run_once()
    root = decision(running_hub)
    assert root.findtext("r:Decision", namespaces=R) == "REJECTED"
    assert root.findtext("r:AgencyResult[r:Agency='TAX']/r:Reason", namespaces=R) == "纳税信用等级为D级"


def test_when_time_is_up_the_silent_agencies_are_named_and_late_verdicts_are_kept(running_hub, capsys):
    engine = running_hub.engine
    engine.context = dataclasses.replace(engine.context, gathers=tuple(
        dataclasses.replace(g, within=0.3) for g in engine.context.gathers))
    application = apply(running_hub)
    for agency in ("customs", "tax", "commerce", "market"):
        running_hub.drop(f"agency-{agency}", verdict(agency))
    running_hub.run_once()
    assert wait_until(running_hub.journal.due_gathers, timeout=10, step=0.02)  # time is up
    engine.scan_interval = 0.0
    running_hub.run_once()
    root = decision(running_hub)
    assert root.findtext("r:Decision", namespaces=R) == "INCOMPLETE"
    assert results(root)["SAFE"] == "SILENT" and results(root)["CIQ"] == "SILENT"
    assert root.find("r:AgencyResult[r:Agency='CIQ']/r:Reviewer", R) is None
    decided = [e for e in running_hub.journal.events(application["document_id"]) if e["kind"] == "DECIDED"]
    assert decided[0]["detail"]["silent"] == ["SAFE", "CIQ"] and "time is up" in decided[0]["reason"]

    running_hub.drop("agency-ciq", verdict("ciq"))  # after the decision
    running_hub.run_once()
    kinds = [e["kind"] for e in running_hub.journal.events(application["document_id"])]
    assert kinds.count("LATE_ANSWER") == 1 and kinds.count("DECIDED") == 1
    assert len([p for p in running_hub.files("etps-shenyang", "InBox") if p.name.startswith("REVIEW131_")]) == 1
    capsys.readouterr()
    assert cli(running_hub, "status", "--json") == 0
    (review,) = json.loads(capsys.readouterr().out)["reviews"]
    assert review["state"] == "DECIDED" and review["late"] == 1


def test_an_agency_cannot_answer_for_another(running_hub):
    apply(running_hub)
    running_hub.drop("agency-tax", verdict("customs", **{"REV-CUSTOMS": "REV-TAX"}))
    running_hub.run_once()
    forged = running_hub.journal.documents()[-1]
    assert forged["state"] == "REJECTED"
    assert "may not answer for CUSTOMS in joint-review; CUSTOMS's answers come from agency-customs" in forged["reason"]


def test_an_application_in_another_enterprises_name_is_refused(running_hub):
    application = (SAMPLES / "catalog/REVIEW101-hub-application.xml").read_bytes()
    foreign = application.replace(b"<CustomsNo>2101940123</CustomsNo>", b"<CustomsNo>2102950789</CustomsNo>")
    assert foreign != application
    running_hub.drop("etps-shenyang", foreign, name="REVIEW101-foreign.xml")
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    assert document["state"] == "REJECTED"
    (rejected,) = [e for e in running_hub.journal.events(document["document_id"]) if e["kind"] == "REJECTED"]
    assert any("may not declare for enterprise 2102950789" in i["message"] for i in rejected["detail"]["issues"])
    assert running_hub.files("agency-tax", "InBox") == []


def test_a_second_application_with_the_same_id_is_refused_not_forwarded(running_hub):
    apply(running_hub)
    again = (SAMPLES / "catalog/REVIEW101-hub-application.xml").read_bytes().replace(
        b"<MessageId>DXPENT0000016069202606181030150001</MessageId>",
        b"<MessageId>DXPENT0000016069202606181030150002</MessageId>")
    running_hub.drop("etps-shenyang", again, name="REVIEW101-again.xml")
    running_hub.run_once()
    second = running_hub.journal.documents()[-1]
    assert second["state"] == "REJECTED" and "is already under joint-review" in second["reason"]
    assert len(running_hub.files("agency-tax", "InBox")) == 1


def test_verdicts_that_waited_while_the_hub_was_down_count_before_time_runs_out(running_hub, tmp_path):
    engine = running_hub.engine
    engine.context = dataclasses.replace(engine.context, gathers=tuple(
        dataclasses.replace(g, within=0.3) for g in engine.context.gathers))
    application = apply(running_hub)
    running_hub.engine.close()  # the hub stops; the agencies answer; time runs out meanwhile
    for agency in AGENCIES:
        running_hub.drop(f"agency-{agency}", verdict(agency))
    stopped = open_journal(running_hub.assembly.settings.journal, readonly=True)
    assert wait_until(stopped.due_gathers, timeout=10, step=0.02)  # time ran out while the hub was down
    stopped.close()
    running_hub.engine = hub.open_engine(running_hub.assembly)
    running_hub.journal = running_hub.engine.journal
    running_hub.engine.context = dataclasses.replace(running_hub.engine.context, gathers=engine.context.gathers)
    running_hub.run_once()
    decided = [e for e in running_hub.journal.events(application["document_id"]) if e["kind"] == "DECIDED"]
    assert len(decided) == 1 and decided[0]["detail"]["silent"] == []
    assert "every member answered" in decided[0]["reason"]


def test_a_decision_the_stylesheet_gets_wrong_is_held_listed_and_decided_again_on_resubmit(running_hub, capsys):
    engine = running_hub.engine
    gather = engine.context.gathers[0]
    broken = etree.XSLT(etree.fromstring(
        gather.xsl.read_bytes().replace(b"<xsl:when test=\"$verdicts[r:Verdict = 'REJECTED']\">REJECTED",
                                        b"<xsl:when test=\"true()\">MAYBE")))
    engine.context = dataclasses.replace(engine.context, gathers=(dataclasses.replace(gather, transform=broken),))
    application = apply(running_hub)
    for agency in AGENCIES:
        running_hub.drop(f"agency-{agency}", verdict(agency))
    running_hub.run_once()
    engine.scan_interval = 0.0
    running_hub.run_once()  # not retried on every scan
    kinds = [e["kind"] for e in running_hub.journal.events(application["document_id"])]
    assert kinds.count("DECISION_FAILED") == 1 and "DECIDED" not in kinds
    capsys.readouterr()
    assert cli(running_hub, "failed", "--json") == 0
    assert [d["document_id"] for d in json.loads(capsys.readouterr().out)["decisions"]] == [application["document_id"]]

    engine.context = dataclasses.replace(engine.context, gathers=(gather,))  # the stylesheet is fixed
    result = engine.resubmit(application["document_id"], by="admin", reason="decision stylesheet fixed")
    assert result["decided"] == ["DECIDED"]
    running_hub.run_once()
    assert decision(running_hub).findtext("r:Decision", namespaces=R) == "INCOMPLETE"


def test_the_review_is_due_within_the_written_duration(running_hub):
    """routes/review.toml gives the six agencies `within = "30m"`: 1,800 s from the application."""
    application = apply(running_hub)
    (gathering,) = running_hub.journal.gathers_started_by(application["document_id"])
    due = datetime.fromisoformat(gathering["due_at"]) - datetime.fromisoformat(gathering["opened_at"])
    assert 1800 <= due.total_seconds() < 1801
