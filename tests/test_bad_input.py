"""Bad input: each is refused with a reason, journaled, answered; nothing is lost or half-delivered."""

from __future__ import annotations

import os

import pytest
from lxml import etree

from conftest import SAMPLES

BAD_INPUTS = {
    "malformed": ("hostile/malformed.xml", "not well-formed"),
    "xxe": ("hostile/xxe.xml", "DOCTYPE"),
    "billion-laughs": ("hostile/billion-laughs.xml", "DOCTYPE"),
    "too-deep": ("hostile/deep.xml", "deeper than the limit"),
    "empty": ("hostile/empty.xml", "empty"),
    "binary": ("hostile/binary.xml", "XML"),
    "wrong-namespace": ("invalid/INV101-wrong-namespace.xml", "unknown document type"),
    "missing-envelope-field": ("invalid/INV101-missing-message-id.xml", "message_id"),
    "unknown-type": ("invalid/FOO999-unknown-type.xml", "unknown document type"),
    "schema-errors": ("invalid/INV101-several-errors.xml", "errors in this INV101/enterprise (schema INV101.xsd"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_refused_journaled_and_answered_while_good_documents_flow(running_hub, case):
    relative, reason_part = BAD_INPUTS[case]
    bad = SAMPLES / relative
    good = SAMPLES / "etps-shenyang/INV101-import.xml"
    running_hub.drop("etps-shenyang", bad, name=f"bad-{bad.name}")
    running_hub.drop("etps-shenyang", good)
    running_hub.run_once()

    documents = {d["source_name"]: d for d in running_hub.journal.documents()}
    refused = documents[f"bad-{bad.name}"]
    assert refused["state"] == "REJECTED"
    assert reason_part.lower() in refused["reason"].lower()
    # journaled: the exact bytes are kept
    assert running_hub.journal.body(refused["sha256"]) == bad.read_bytes()
    # the source is parked in FailBox, untouched
    assert (running_hub.folder("etps-shenyang", "FailBox") / f"bad-{bad.name}").read_bytes() == bad.read_bytes()
    # the sender is told why, in its InBox, in the customs client's acknowledgement format
    (answer,) = [p for p in running_hub.files("etps-shenyang", "InBox") if p.name.startswith("Failed_")]
    receipt = etree.fromstring(answer.read_bytes())
    assert receipt.tag == "CommonResponeMessage"
    assert receipt.findtext("DealFlag") == "-1"
    assert refused["document_id"] in receipt.findtext("CheckInfo")
    assert reason_part.lower() in receipt.findtext("CheckInfo").lower()
    # nothing of it went anywhere else, and the good document still went through
    assert [p.read_bytes() for p in running_hub.files("customs", "InBox")] == [good.read_bytes()]
    assert running_hub.files("zone", "InBox") == []
    assert documents[good.name]["state"] == "DELIVERED"


SEVERAL_ERRORS = [  # samples/invalid/INV101-several-errors.xml: where each error is, counted in the file
    (34, "/Signature/Object/Package/DataInfo/BussinessData/InvtMessage/InvtHeadType/BondInvtNo"),
    (66, "/Signature/Object/Package/DataInfo/BussinessData/InvtMessage/InvtListType[2]/DclUnitcd"),
    (67, "/Signature/Object/Package/DataInfo/BussinessData/InvtMessage/InvtListType[3]/DclQty")]


def test_an_answer_lists_every_schema_error_with_line_and_path(running_hub):
    bad = SAMPLES / "invalid/INV101-several-errors.xml"
    running_hub.drop("etps-shenyang", bad)
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    rejected = [e for e in running_hub.journal.events(document["document_id"]) if e["kind"] == "REJECTED"][0]
    issues = rejected["detail"]["issues"]
    assert [(issue["line"], issue["path"]) for issue in issues] == SEVERAL_ERRORS
    check_info = etree.fromstring(running_hub.files("etps-shenyang", "InBox")[0].read_bytes()).findtext("CheckInfo")
    for line, path in SEVERAL_ERRORS:
        assert f"line {line}: {path}:" in check_info


def test_a_sender_id_the_endpoint_may_not_use_is_refused(running_hub, sample):
    # customs' own receipt dropped in the enterprise's OutBox: wrong sender id and a type it may not send
    running_hub.drop("etps-shenyang", sample("customs/INV201-receipt.xml"))
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    assert document["state"] == "REJECTED"
    assert "may not send as CUS0000" in document["reason"]
    assert "may not send INV201" in document["reason"]
    assert running_hub.files("etps-shenyang", "InBox")[0].name.startswith("Failed_INV201_")


@pytest.mark.slow
def test_a_file_over_the_size_limit_is_refused_before_parsing_and_kept(running_hub):
    limit = running_hub.assembly.settings.limits.max_bytes
    head = b'<?xml version="1.0" encoding="UTF-8"?><Signature><Rmk>'
    big = head + b"x" * (limit + 1 - len(head) - 18) + b"</Rmk></Signature>"
    assert len(big) == limit + 1
    running_hub.drop("etps-shenyang", big, name="huge.xml")
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    assert document["state"] == "REJECTED"
    assert "over the limit" in document["reason"]
    assert document["size"] == len(big)
    assert os.path.getsize(running_hub.folder("etps-shenyang", "FailBox") / "huge.xml") == len(big)
    assert running_hub.files("customs", "InBox") == []


def test_a_document_of_unknown_type_keeps_its_envelope_facts_for_tracing(running_hub):
    running_hub.drop("etps-shenyang", SAMPLES / "invalid/FOO999-unknown-type.xml")
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    assert document["state"] == "REJECTED"
    assert (document["message_type"], document["sender"]) == ("FOO999", "DXPENT0000016069")
    assert document["message_id"]
    assert running_hub.journal.find_documents(document["message_id"]) == [document["document_id"]]
    (answer,) = running_hub.files("etps-shenyang", "InBox")
    assert answer.name.startswith("Failed_FOO999_")
