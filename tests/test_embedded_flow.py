"""End to end on the embedded default: folders in, folders out, every step journaled."""

from __future__ import annotations

import re
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
    with running_hub.journal.transaction():
        due = running_hub.journal.claim_due(running_hub.engine.owner, 10, 60.0)
    for delivery in due:
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


def pockets(sample: bytes, count: int) -> list[bytes]:
    """The inventory list split as a client splits a large one: the same message in ``count``
    pockets, each with the head and its share of the lines, numbered on."""
    tree = parse(sample)
    root = tree.getroot()
    data_info = root.find(".//DataInfo")
    lines = root.findall(".//InvtListType")
    size = -(-len(lines) // count)
    documents = []
    for number in range(count):
        copy = parse(etree.tostring(root))
        copy_lines = copy.getroot().findall(".//InvtListType")
        keep = set(range(number * size, min((number + 1) * size, len(lines))))
        for index, line in enumerate(copy_lines):
            if index not in keep:
                line.getparent().remove(line)
        info = etree.Element("PocketInfo")
        etree.SubElement(info, "pocket_id").text = "HC2026112800001-" + "0" * 31 + "7"
        etree.SubElement(info, "total_pocket_qty").text = str(count)
        etree.SubElement(info, "cur_pocket_no").text = str(number + 1)
        copy.getroot().find(".//DataInfo").insert(0, info)
        documents.append(etree.tostring(copy, xml_declaration=True, encoding="UTF-8"))
    assert data_info is not None
    return documents


def test_a_document_split_in_pockets_is_forwarded_pocket_by_pocket(running_hub, sample):
    parts = pockets(sample("etps-shenyang/INV101-import.xml").read_bytes(), 3)
    for number, part in enumerate(parts, 1):
        running_hub.drop("etps-shenyang", part, name=f"INV101-pocket-{number}.xml")
    running_hub.run_once()
    documents = {d["source_name"]: d for d in running_hub.journal.documents()}
    assert [documents[f"INV101-pocket-{n}.xml"]["state"] for n in (1, 2, 3)] == ["DELIVERED"] * 3
    assert [documents[f"INV101-pocket-{n}.xml"]["part"] for n in (1, 2, 3)] == ["1/3", "2/3", "3/3"]
    delivered = [p.read_bytes() for p in running_hub.files("customs", "InBox")]
    assert sorted(delivered) == sorted(parts)  # each pocket as it came: the receiver reassembles
    # the same pocket sent again is recognised, though the three share one message id
    resent = re.sub(rb"<send_time>[^<]*</send_time>", b"<send_time>2026-11-28T23:59:59</send_time>", parts[1])
    assert resent != parts[1]
    running_hub.drop("etps-shenyang", resent, name="INV101-pocket-2-again.xml")
    running_hub.run_once()
    assert running_hub.journal.documents()[-1]["state"] == "DUPLICATE"
    assert len(running_hub.files("customs", "InBox")) == 3
