"""End to end on the embedded default: folders in, folders out, every step journaled."""

from __future__ import annotations

from dataclasses import replace

from lxml import etree

from exchange import envelope as envelopes
from exchange.parsing import parse


def test_enterprise_documents_reach_customs_and_zone_and_receipts_come_back(running_hub, sample):
    inventory = sample("etps-shenyang/INV101-import.xml")
    pass_form = sample("etps-shenyang/SAS121-pass.xml")
    running_hub.drop("etps-shenyang", inventory)
    running_hub.drop("etps-shenyang", pass_form)
    running_hub.run_once()

    # the inventory list reaches customs byte for byte
    customs_inbox = running_hub.files("customs", "InBox")
    assert len(customs_inbox) == 1
    assert customs_inbox[0].read_bytes() == inventory.read_bytes()
    # the pass form reaches the zone system converted into its dialect, and valid there
    zone_inbox = running_hub.files("zone", "InBox")
    assert len(zone_inbox) == 1
    converted = zone_inbox[0].read_bytes()
    kind, document = running_hub.assembly.catalog.identify(envelopes.read(parse(converted)))
    assert (kind.type, kind.dialect) == ("SAS121", "customs")
    running_hub.assembly.catalog.validate(kind, document)
    # the sources moved to SentBox, nothing left behind or refused
    assert [p.name for p in running_hub.files("etps-shenyang", "SentBox")] == sorted(
        [inventory.name, pass_form.name])
    assert running_hub.files("etps-shenyang", "OutBox") == []
    assert running_hub.files("etps-shenyang", "FailBox") == []

    # customs and the zone system answer; the receipts reach the enterprise
    running_hub.drop("customs", sample("customs/INV201-receipt.xml"))
    running_hub.drop("zone", sample("zone/SAS221-receipt.xml"))
    running_hub.run_once()
    received = running_hub.files("etps-shenyang", "InBox")
    assert sorted(p.name.split("_")[0] for p in received) == ["INV201", "SAS221"]
    assert {p.read_bytes() for p in received} == {
        sample("customs/INV201-receipt.xml").read_bytes(), sample("zone/SAS221-receipt.xml").read_bytes()}


def test_every_step_of_a_document_is_journaled_in_order(running_hub, sample):
    running_hub.drop("etps-shenyang", sample("etps-shenyang/SAS121-pass.xml"))
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    assert document["state"] == "DELIVERED"
    assert document["message_type"] == "SAS121"
    assert document["sender"] == "DXPENT0000016069"
    kinds = [event["kind"] for event in running_hub.journal.events(document["document_id"])]
    assert kinds == ["RECEIVED", "VALIDATED", "ROUTED", "CONVERTED", "QUEUED", "DELIVERED"]
    converted = [e for e in running_hub.journal.events(document["document_id"]) if e["kind"] == "CONVERTED"]
    assert converted[0]["detail"]["map"] == "sas121-enterprise-to-customs"
    assert converted[0]["route"] == "pass-forms-to-zone"
    # the original bytes are kept, keyed by their SHA-256
    source = running_hub.files("etps-shenyang", "SentBox")[0].read_bytes()
    assert running_hub.journal.body(document["sha256"]) == source


def test_a_document_received_twice_is_delivered_once(running_hub, sample):
    inventory = sample("etps-shenyang/INV101-import.xml")
    running_hub.drop("etps-shenyang", inventory)
    running_hub.run_once()
    running_hub.drop("etps-shenyang", inventory, name="INV101-import-again.xml")
    running_hub.run_once()

    assert len(running_hub.files("customs", "InBox")) == 1
    states = sorted(d["state"] for d in running_hub.journal.documents())
    assert states == ["DELIVERED", "DUPLICATE"]
    # both files are settled at the source: the resend is not refused, only not delivered again
    assert len(running_hub.files("etps-shenyang", "SentBox")) == 2
    assert running_hub.files("etps-shenyang", "InBox") == []


def test_a_resend_with_the_same_message_id_but_other_bytes_is_delivered_once(running_hub, sample):
    original = sample("etps-shenyang/INV101-import.xml").read_bytes()
    running_hub.drop("etps-shenyang", original, name="first.xml")
    running_hub.run_once()
    # the client saved the same message again: new send_time, same message_id
    tree = parse(original)
    send_time = tree.getroot().find(".//send_time")
    send_time.text = "2026-11-28T09:59:59"
    running_hub.drop("etps-shenyang", etree.tostring(tree, xml_declaration=True, encoding="UTF-8"),
                     name="second.xml")
    running_hub.run_once()
    assert len(running_hub.files("customs", "InBox")) == 1
    assert sorted(d["state"] for d in running_hub.journal.documents()) == ["DELIVERED", "DUPLICATE"]


def test_a_crash_before_the_source_is_moved_does_not_deliver_twice(running_hub, sample):
    """The journal committed but the hub died before moving the file to SentBox."""
    inventory = running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    class DiesBeforeSettling:
        def ack(self):
            pass

        def nack(self, reason):
            pass

    batch = [replace(item, acknowledgement=DiesBeforeSettling())
             for item in running_hub.engine.inbound["etps-shenyang"].receive(10)]
    running_hub.engine.take_in(batch)
    # ... the hub dies here: the journal holds the document, the file is still in OutBox.
    assert inventory.exists()
    running_hub.run_once()
    assert len(running_hub.files("customs", "InBox")) == 1
    assert not inventory.exists()
    assert sorted(d["state"] for d in running_hub.journal.documents()) == ["DELIVERED", "DUPLICATE"]


def test_a_crash_after_sending_but_before_recording_overwrites_instead_of_doubling(running_hub, sample):
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.engine.take_in(running_hub.engine.inbound["etps-shenyang"].receive(10))
    # send without recording, as if the hub died right after the rename
    for delivery in running_hub.journal.pending_deliveries(10):
        from exchange.message import Outgoing
        running_hub.engine.outbound[delivery.endpoint].send(Outgoing(
            delivery.delivery_id, delivery.document_id, running_hub.journal.body(delivery.sha256), delivery.name))
    running_hub.run_once()  # the restarted hub sends the PENDING delivery again
    assert len(running_hub.files("customs", "InBox")) == 1
    assert running_hub.journal.documents()[0]["state"] == "DELIVERED"


def test_a_failing_destination_is_retried_and_the_document_waits_in_the_outbox(running_hub, sample):
    inbox = running_hub.folder("customs", "InBox")
    inbox.rmdir()
    inbox.write_text("not a folder")  # the destination cannot be written
    running_hub.drop("etps-shenyang", sample("etps-shenyang/INV101-import.xml"))
    running_hub.run_once()
    (document,) = running_hub.journal.documents()
    assert document["state"] == "ACCEPTED"
    (delivery,) = [d for d in running_hub.journal.deliveries(document["document_id"])]
    assert delivery["state"] == "PENDING" and delivery["attempts"] == 1
    assert "customs" in delivery["last_error"]
    kinds = [e["kind"] for e in running_hub.journal.events(document["document_id"])]
    assert kinds[-1] == "DELIVERY_FAILED"
    # the source is safe in SentBox: the journal holds the document until it can be delivered
    assert len(running_hub.files("etps-shenyang", "SentBox")) == 1
