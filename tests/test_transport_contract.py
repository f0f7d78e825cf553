"""One contract, three transports: what every adapter promises the engine, against real servers.

The local adapter runs on folders, the AMQP adapter on the real RabbitMQ, the SFTP adapter on a
private OpenSSH sshd. The far side of each endpoint is played by ``parties``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import adapters
from exchange.errors import TransportError
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


@pytest.mark.amqp
def test_amqp_a_message_no_queue_takes_fails_as_unroutable(connect, broker):
    _, outbound, _ = connect("amqp")
    outbound.send(outgoing(6))  # connected, topology declared
    channel = broker.channel()
    channel.queue_unbind(broker.send_queue("etps-contract"), f"{broker.prefix}.hub.to-etps-contract",
                         routing_key="etps-contract")
    channel.close()
    (error,) = outbound.send_many([outgoing(7)]).values()
    assert error and "unroutable" in error


@pytest.mark.amqp
def test_amqp_messages_are_persistent_and_carry_the_hub_headers(connect, broker):
    _, outbound, _ = connect("amqp")
    outbound.send(outgoing(3))
    ((properties, _),) = broker.take_all(broker.send_queue("etps-contract"))
    assert properties.delivery_mode == 2
    assert properties.message_id == "delivery-0003"
    assert properties.headers["document-id"] == "document-0003"
    assert properties.headers["message-type"] == "INV201"
    assert properties.headers["sender"] == "CUS0000"
    assert properties.headers["correlation-id"] == "M3"


@pytest.mark.sftp
def test_sftp_a_file_still_being_written_waits_for_the_settle_time(tmp_path, sshd):
    transport, party = sftp_transport(sshd, "etps-settle", settle_seconds=0.5)
    inbound, _ = adapters.build(endpoint("etps-settle", transport), tmp_path, Limits())
    try:
        growing = party.folder / "OutBox" / "growing.xml"
        growing.write_bytes(b"<doc>part one")
        assert inbound.receive(10) == []  # seen for the first time: not settled
        seen = time.monotonic()
        while time.monotonic() < seen + 0.3:  # the clock is what this test is about: 0.3 s into the settle time
            assert inbound.receive(10) == []
        growing.write_bytes(b"<doc>part one, part two</doc>")  # it changes: its settle time starts again
        (item,) = receive_all(inbound, 1, timeout=5)
        assert time.monotonic() - seen >= 0.3 + 0.5  # not taken 0.5 s after it was first seen
        assert item.message.body == b"<doc>part one, part two</doc>"
    finally:
        inbound.close()


@pytest.mark.sftp
def test_sftp_with_a_done_marker_only_marked_files_are_read(tmp_path, sshd):
    transport, party = sftp_transport(sshd, "etps-marker", done_marker=".done")
    inbound, _ = adapters.build(endpoint("etps-marker", transport), tmp_path, Limits())
    try:
        party.put("a.xml", b"<a/>")
        party.put("b.xml", b"<b/>")
        party.put("b.xml.done", b"")
        (item,) = receive_all(inbound, 1, timeout=3)
        assert item.message.name == "b.xml"
        item.acknowledgement.ack()
        assert party.names("OutBox") == ["a.xml"]  # the marker went with its file
        assert receive_all(inbound, 1, timeout=1) == []
    finally:
        inbound.close()


@pytest.mark.sftp
def test_sftp_a_host_missing_from_known_hosts_is_refused(tmp_path, sshd):
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPm5c5i7R1g6c1N2o6Vb1jv1mQ7oV8b2gN9y3O3p4yTQ\n")
    transport, party = sftp_transport(sshd, "etps-known", known_hosts=str(known_hosts))
    del transport["host_key_sha256"]
    inbound, _ = adapters.build(endpoint("etps-known", transport), tmp_path, Limits())
    party.put("a.xml", b"<a/>")
    with pytest.raises(TransportError, match="is not in .*known_hosts; refusing to connect"):
        inbound.receive(10)
    # with the server's real key listed, the same endpoint connects
    public = sshd.host_key.with_suffix(".pub").read_text().split()
    known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {public[0]} {public[1]}\n")
    inbound._connection._backoff.succeeded()
    (item,) = receive_all(inbound, 1, timeout=3)
    assert item.message.body == b"<a/>"
    inbound.close()
