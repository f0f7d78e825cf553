"""One contract, three transports: what every adapter promises the engine, against real servers.

The local adapter runs on folders, the AMQP adapter on the real RabbitMQ, the SFTP adapter on a
private OpenSSH sshd. The far side of each endpoint is played by ``parties``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import adapters
from exchange.message import Outgoing
from exchange.parsing import Limits

from parties import amqp_transport, endpoint, local_transport, sftp_transport

TRANSPORTS = [
    pytest.param("local", id="local"),
    pytest.param("amqp", id="amqp", marks=pytest.mark.amqp),
    pytest.param("sftp", id="sftp", marks=pytest.mark.sftp),
]


@pytest.fixture
def connect(request, tmp_path):
    """connect(kind) -> (inbound, outbound, party) for a fresh endpoint on that transport."""
    opened = []

    def make(kind: str, limits: Limits = Limits(), name: str = "etps-contract"):
        if kind == "local":
            transport, party = local_transport(tmp_path, name)
        elif kind == "amqp":
            transport, party = amqp_transport(request.getfixturevalue("broker"), name)
        else:
            transport, party = sftp_transport(request.getfixturevalue("sshd"), name)
        inbound, outbound = adapters.build(endpoint(name, transport), tmp_path, limits)
        inbound.connect()
        outbound.connect()
        opened.extend([inbound, outbound])
        return inbound, outbound, party

    yield make
    for adapter in opened:
        adapter.close()


def receive_all(inbound, expected: int, timeout: float = 10.0) -> list:
    """Poll as the engine does until ``expected`` documents came in (or the time is up)."""
    received, deadline = [], time.monotonic() + timeout
    while len(received) < expected and time.monotonic() < deadline:
        batch = inbound.receive(100)
        received.extend(batch)
        if not batch:
            time.sleep(0.02)
    return received


def outgoing(number: int, body: bytes = b"<doc/>") -> Outgoing:
    return Outgoing(delivery_id=f"delivery-{number:04d}", document_id=f"document-{number:04d}", body=body,
                    name=f"INV201_document-{number:04d}.xml",
                    headers={"message_type": "INV201", "message_id": f"M{number}", "sender": "CUS0000"})


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_what_the_party_sends_is_received_with_its_bytes_and_name(connect, kind):
    inbound, _, party = connect(kind)
    documents = {f"doc-{i}.xml": f"<doc n='{i}'>沈阳</doc>".encode() for i in range(5)}
    for name, body in documents.items():
        party.put(name, body)
    received = receive_all(inbound, 5)
    assert {item.message.name: item.message.body for item in received} == documents
    assert all(item.message.endpoint == "etps-contract" and item.message.size == len(item.message.body)
               for item in received)


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_an_acknowledged_document_is_not_received_again(connect, kind):
    inbound, _, party = connect(kind)
    party.put("one.xml", b"<one/>")
    (item,) = receive_all(inbound, 1)
    item.acknowledgement.ack()
    inbound.close()
    inbound.connect()
    assert receive_all(inbound, 1, timeout=1.0) == []
    if hasattr(party, "settled"):
        assert party.settled() == ["one.xml"]


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_a_refused_document_is_parked_and_not_received_again(connect, kind):
    inbound, _, party = connect(kind)
    party.put("poison.xml", b"<poison")
    (item,) = receive_all(inbound, 1)
    item.acknowledgement.nack("not well-formed")
    inbound.close()
    inbound.connect()
    assert receive_all(inbound, 1, timeout=1.0) == []
    assert party.parked() == ["poison.xml"]


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_a_document_not_settled_before_a_reconnect_is_received_again(connect, kind):
    inbound, _, party = connect(kind)
    party.put("again.xml", b"<again/>")
    assert len(receive_all(inbound, 1)) == 1
    inbound.close()  # the hub died before the journal commit: no ack
    inbound.connect()
    (item,) = receive_all(inbound, 1)
    assert (item.message.name, item.message.body) == ("again.xml", b"<again/>")


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_a_sent_document_arrives_with_its_bytes_and_a_stable_identity(connect, kind):
    _, outbound, party = connect(kind)
    body = "<receipt>审核通过</receipt>".encode()
    outbound.send(outgoing(1, body))
    outbound.send(outgoing(1, body))  # sent again after a crash: same identity
    delivered = party.delivered()
    assert {body} == {b for _, b in delivered}
    identities = {identity for identity, _ in delivered}
    assert identities in ({"INV201_document-0001.xml"}, {"delivery-0001"})  # file name, or AMQP message_id


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_many_sends_arrive_in_full(connect, kind):
    _, outbound, party = connect(kind)
    batch = [outgoing(n, f"<doc n='{n}'/>".encode()) for n in range(50)]
    if hasattr(outbound, "send_many"):
        assert set(outbound.send_many(batch).values()) == {None}
    else:
        for item in batch:
            outbound.send(item)
    assert sorted(b for _, b in party.delivered()) == sorted(item.body for item in batch)


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_an_oversized_document_is_announced_by_size_and_not_read(connect, kind):
    inbound, _, party = connect(kind, Limits(max_bytes=1000))
    party.put("big.xml", b"<big>" + b"x" * 5000 + b"</big>")
    (item,) = receive_all(inbound, 1)
    assert item.message.size == 5011
    assert item.message.body == b""


@pytest.mark.parametrize("kind", [p for p in TRANSPORTS if p.id != "amqp"])
def test_a_file_name_used_twice_keeps_both_files_in_sentbox(connect, kind):
    inbound, _, party = connect(kind)
    for body in (b"<first/>", b"<second/>"):
        party.put("same.xml", body)
        (item,) = receive_all(inbound, 1)
        assert item.message.body == body
        item.acknowledgement.ack()
    assert party.settled() == ["same.1.xml", "same.xml"]
    assert (party.folder / "SentBox" / "same.xml").read_bytes() == b"<first/>"
