"""The six-agency joint review: one application scattered to six agencies, their verdicts
gathered into one decision for the enterprise, when all have answered or time is up."""

from __future__ import annotations

import dataclasses
import json
import time

from lxml import etree

import hub
from conftest import SAMPLES

AGENCIES = ("customs", "tax", "safe", "commerce", "market", "ciq")
R = {"r": "urn:customs-hub:review:1"}


def cli(running_hub, *args: str) -> int:
    return hub.main(["--data-dir", str(running_hub.data_dir), *args])


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
    time.sleep(0.4)
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
