"""The hub on real servers: enterprises over SFTP, customs and the zone system over AMQP,
including connections cut under it, an SFTP server restarted mid-poll, a changed host key, a
broker that refuses a copy, dead deliveries resubmitted, and the joint review's agencies on AMQP.

In every fault test each document arrives, none is lost, and no destination gets a document
twice under two identities: a copy sent again after a lost confirm keeps its message id.
"""

from __future__ import annotations

import json
import re
import threading

import pytest
from lxml import etree

import hub
from conftest import SAMPLES, copy_default_config
from deployment import AmqpParty, Arrivals, Printed, RunningHub, deploy, journal_count, numbered, wait_until
from servers import Sshd, close_all_rabbitmq_connections

pytestmark = [pytest.mark.amqp, pytest.mark.sftp]

INV101 = (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes()
SAS121 = (SAMPLES / "etps-shenyang/SAS121-pass.xml").read_bytes()
INV201 = (SAMPLES / "customs/INV201-receipt.xml").read_bytes()


def test_documents_and_receipts_flow_over_sftp_and_amqp(tmp_path, broker, sshd):
    config, parties = deploy(tmp_path, {"etps-shenyang": "sftp", "customs": "amqp", "zone": "amqp"}, broker, sshd)
    enterprise, customs, zone = parties["etps-shenyang"], parties["customs"], parties["zone"]
    with RunningHub(config) as running:
        enterprise.put("INV101-import.xml", INV101)
        enterprise.put("SAS121-pass.xml", SAS121)
        customs_got = wait_until(lambda: customs.delivered())
        zone_got = wait_until(lambda: zone.delivered())
        customs.put("INV201-receipt.xml", INV201)
        receipts = wait_until(lambda: enterprise.delivered())
        assert wait_until(lambda: enterprise.settled() == ["INV101-import.xml", "SAS121-pass.xml"])
    assert [body for _, body in customs_got] == [INV101]
    assert b"<SasPassportBsc>" in zone_got[0][1]  # converted into the zone dialect
    assert [body for _, body in receipts] == [INV201]
    states = sorted(d["state"] for d in running.journal().documents())
    assert states == ["DELIVERED", "DELIVERED", "DELIVERED"]


def test_a_poison_message_is_journaled_answered_and_dead_lettered(tmp_path, broker, sshd):
    config, parties = deploy(tmp_path, {"etps-shenyang": "sftp", "customs": "amqp", "zone": "amqp"}, broker, sshd)
    customs = parties["customs"]
    with RunningHub(config) as running:
        customs.put("poison-1", b"<Package><not-closed>")
        assert wait_until(lambda: customs.parked()) == ["poison-1"]  # dead-lettered, not redelivered
        answers = wait_until(lambda: customs.delivered())
        (document,) = running.journal().documents()
    assert document["state"] == "REJECTED" and "not well-formed" in document["reason"]
    assert b"<DealFlag>-1</DealFlag>" in answers[0][1]


def _delivered_count(running) -> int:
    return len([d for d in running.journal().documents() if d["state"] == "DELIVERED"])


def test_connections_closed_under_the_hub_lose_nothing(tmp_path, broker, sshd, capsys):
    """AMQP -> hub -> AMQP while the broker drops every connection, twice, in the middle of a burst."""
    config, parties = deploy(tmp_path, {"etps-shenyang": "amqp", "customs": "amqp", "zone": "amqp"}, broker, sshd)
    customs, enterprise = parties["customs"], parties["etps-shenyang"]
    count = 1500
    arrivals = Arrivals(enterprise)

    def cut_connections(running):
        for taken in (300, 900):  # in the middle of the burst, twice
            wait_until(lambda: journal_count(running.data_dir / "journal.sqlite",
                                             "SELECT COUNT(*) FROM documents") >= taken, timeout=60, step=0.02)
            close_all_rabbitmq_connections()

    with RunningHub(config) as running:
        cutter = threading.Thread(target=cut_connections, args=(running,))
        cutter.start()
        for start in range(0, count, 100):
            broker.publish_many("customs", [(f"receipt-{n}", numbered(INV201, n)) for n in range(start, start + 100)])
        cutter.join()
        assert wait_until(lambda: arrivals.at_least(count), timeout=120, step=0.5), \
            f"only {len(arrivals.identities)} of {count} arrived"
        assert wait_until(lambda: _delivered_count(running) == count, timeout=30)
        documents = running.journal().documents()
    assert "CONNECTION_FORCED" in capsys.readouterr().err  # the cuts hit the hub's connections
    assert set(arrivals.identities) == {numbered(INV201, n) for n in range(count)}  # every document arrived
    assert all(len(ids) == 1 for ids in arrivals.identities.values())  # none under two identities
    delivered = [d for d in documents if d["state"] == "DELIVERED"]
    assert len(delivered) == count  # each journaled and delivered once; redeliveries were duplicates
    assert {d["state"] for d in documents} <= {"DELIVERED", "DUPLICATE"}


def test_an_sftp_server_restarted_mid_poll_loses_nothing(tmp_path, broker, sshd, capsys):
    """A backlog of files is being read when the server goes away, and comes back."""
    config, parties = deploy(tmp_path, {"etps-shenyang": "sftp", "customs": "amqp", "zone": "amqp"}, broker, sshd)
    enterprise, customs = parties["etps-shenyang"], parties["customs"]
    count = 400
    arrivals = Arrivals(customs)
    printed = Printed(capsys)

    for number in range(count):
        enterprise.put(f"INV101-{number:04d}.xml", numbered(INV101, number))
    with RunningHub(config) as running:
        assert wait_until(lambda: 20 <= len(enterprise.settled()), timeout=30, step=0.01)
        sshd.stop()  # in the middle of reading the backlog
        assert wait_until(lambda: printed.shows("endpoint.receive_failed"), timeout=60, step=0.05), \
            printed.err[-3000:]  # it noticed the server is gone
        sshd.start()
        assert wait_until(lambda: arrivals.at_least(count), timeout=120, step=0.5), \
            f"only {len(arrivals.identities)} of {count} arrived"
        assert wait_until(lambda: len(enterprise.settled()) == count, timeout=60)
        assert wait_until(lambda: _delivered_count(running) == count, timeout=30)
        documents = running.journal().documents()
    assert printed.shows("endpoint etps-shenyang")  # the hub saw the server go away, and said which
    assert set(arrivals.identities) == {numbered(INV101, n) for n in range(count)}
    assert all(len(ids) == 1 for ids in arrivals.identities.values())
    assert enterprise.names("OutBox") == [] and enterprise.parked() == []
    assert {d["state"] for d in documents} <= {"DELIVERED", "DUPLICATE"}


def test_a_partner_with_a_changed_host_key_is_refused(tmp_path, broker, capsys):
    server = Sshd(tmp_path / "sshd")
    server.start()
    try:
        config, parties = deploy(tmp_path / "hub", {"etps-shenyang": "sftp", "customs": "amqp", "zone": "amqp"},
                                 broker, server)
        enterprise = parties["etps-shenyang"]
        server.stop()
        server.new_host_key()  # the server was replaced, or someone sits in between
        server.start()
        enterprise.put("INV101-import.xml", INV101)
        printed = Printed(capsys)
        with RunningHub(config) as running:
            assert wait_until(lambda: printed.shows(f"host key {server.host_key_sha256} does not match the pinned"),
                              timeout=30, step=0.05)
            documents = running.journal().documents()
        assert documents == []  # nothing was read from the server it cannot identify
        assert enterprise.names("OutBox") == ["INV101-import.xml"]
        assert printed.shows("endpoint etps-shenyang")
    finally:
        server.stop()


def test_a_wrong_password_is_reported_by_endpoint_and_never_logged(tmp_path, broker, sshd, capsys, monkeypatch):
    secret = "wr0ng-s3cret-7f3a9c"
    monkeypatch.setenv("HUB_TEST_WRONG_PASSWORD", secret)
    config, parties = deploy(tmp_path, {"etps-shenyang": "sftp", "customs": "amqp", "zone": "amqp"}, broker, sshd)
    customs_file = config.parent / "endpoints" / "customs.toml"
    customs_file.write_text(customs_file.read_text().replace('"HUB_TEST_AMQP_PASSWORD"', '"HUB_TEST_WRONG_PASSWORD"'))
    printed = Printed(capsys)
    with RunningHub(config):
        parties["etps-shenyang"].put("INV101-import.xml", INV101)
        # it is taken in, and its delivery to customs fails for the password, and is retried
        assert wait_until(lambda: printed.shows("ACCESS_REFUSED"), timeout=30, step=0.05)
    assert printed.shows("endpoint customs")
    assert secret not in printed.err + printed.out
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_a_copy_the_broker_refuses_is_tried_again_then_dead_and_never_counted_delivered(tmp_path, broker):
    """Customs owns its queues (declare = false), and its queue takes no more messages: RabbitMQ
    answers each publish with a nack. The delivery is tried max_attempts times, then DEAD."""
    config, parties = deploy(tmp_path, {"etps-shenyang": "local", "customs": "amqp", "zone": "local"}, broker)
    _patient_twice(config.parent / "endpoints" / "customs.toml", "declare = false\n")
    _refusing_customs_queue(broker)
    parties["etps-shenyang"].put("INV101-import.xml", INV101)
    with RunningHub(config) as running:
        journal = running.data_dir / "journal.sqlite"
        assert wait_until(lambda: journal_count(journal, "SELECT COUNT(*) FROM deliveries WHERE state='DEAD'"),
                          timeout=30, step=0.05)
        (document,) = running.journal().documents()
        (delivery,) = running.journal().deliveries(document["document_id"])
    assert (document["state"], delivery["state"], delivery["attempts"]) == ("ACCEPTED", "DEAD", 2)
    assert delivery["last_error"] == "the broker refused the message (nack)"
    assert parties["customs"].delivered() == []


def _refusing_customs_queue(broker) -> None:
    """Customs' queues as customs declares them (the hub only checks them: declare = false), with the
    queue the hub delivers into full and refusing more: RabbitMQ nacks every publish."""
    channel = broker.channel()
    for queue in (broker.receive_queue("customs"), broker.send_queue("customs")):
        channel.exchange_declare(f"{queue}.dlx", exchange_type="fanout", durable=True)
    channel.queue_declare(broker.receive_queue("customs"), durable=True)
    channel.queue_declare(broker.send_queue("customs"), durable=True,
                          arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
    channel.exchange_declare(f"{broker.prefix}.hub.to-customs", exchange_type="direct", durable=True)
    channel.queue_bind(broker.send_queue("customs"), f"{broker.prefix}.hub.to-customs", routing_key="customs")
    channel.close()


def _patient_twice(endpoint_file, extra: str = "") -> None:
    """Two attempts, a twentieth of a second apart, then DEAD (what [delivery] in an endpoint file sets)."""
    text = endpoint_file.read_text().replace(
        "[transport]\n", "[delivery]\nmax_attempts = 2\nfirst_delay = 0.05\nmax_delay = 0.05\n\n[transport]\n")
    endpoint_file.write_text(text + extra)


def _resubmit(config, delivery_id: str, capsys) -> str:
    capsys.readouterr()
    assert hub.main(["--config", str(config), "resubmit", delivery_id, "--reason", "the partner is back",
                     "--by", "li.ming"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("kind", ["amqp", "sftp"])
def test_a_dead_delivery_resubmitted_once_the_partner_is_back_arrives_once(tmp_path, broker, sshd, capsys, kind):
    config, parties = deploy(tmp_path, {"etps-shenyang": "local", "customs": kind, "zone": "local"}, broker, sshd)
    customs = parties["customs"]
    if kind == "amqp":
        _patient_twice(config.parent / "endpoints" / "customs.toml", "declare = false\n")
        _refusing_customs_queue(broker)
    else:  # the partner's InBox is not a folder: every upload fails
        _patient_twice(config.parent / "endpoints" / "customs.toml")
        (customs.folder / "InBox").rmdir()
        (customs.folder / "InBox").write_text("not a folder")
    parties["etps-shenyang"].put("INV101-import.xml", INV101)
    with RunningHub(config) as running:
        journal = running.data_dir / "journal.sqlite"
        assert wait_until(lambda: journal_count(journal, "SELECT COUNT(*) FROM deliveries WHERE state='DEAD'"),
                          timeout=30, step=0.05)
        (document,) = running.journal().documents()
        (dead,) = running.journal().deliveries(document["document_id"])
        if kind == "amqp":  # customs lifts its limit
            channel = broker.channel()
            channel.queue_delete(broker.send_queue("customs"))
            channel.queue_declare(broker.send_queue("customs"), durable=True)
            channel.queue_bind(broker.send_queue("customs"), f"{broker.prefix}.hub.to-customs", routing_key="customs")
            channel.close()
        else:  # customs mends its folder
            (customs.folder / "InBox").unlink()
            (customs.folder / "InBox").mkdir()
        assert _resubmit(config, dead["delivery_id"], capsys) == (
            f"document {document['document_id']}: 1 delivery(ies) queued again ({dead['delivery_id']}); "
            "the running hub sends them\n")
        assert wait_until(lambda: journal_count(journal, "SELECT COUNT(*) FROM deliveries WHERE state='DELIVERED'"),
                          timeout=30, step=0.05)
        arrived = wait_until(customs.delivered, timeout=10, step=0.05)
        (delivery,) = running.journal().deliveries(document["document_id"])
        kinds = [e["kind"] for e in running.journal().events(document["document_id"])]
    assert len(arrived) == 1 and arrived[0][1] == INV101  # once, with its bytes
    assert customs.delivered() == ([] if kind == "amqp" else arrived)  # nothing more came (AMQP: taken already)
    assert (delivery["delivery_id"], delivery["state"]) == (dead["delivery_id"], "DELIVERED")
    assert kinds.count("RESUBMITTED") == 1 and kinds.count("DELIVERED") == 1 and kinds[-1] == "DELIVERED"


def test_a_joint_review_runs_over_amqp_from_application_to_decision(tmp_path, broker):
    """The six agencies on RabbitMQ: each gets only its part of the application, and the verdicts
    they publish become one decision in the enterprise's folder."""
    config = copy_default_config(tmp_path)
    config.write_text(re.sub(r'^data_dir = "[^"]*"', f'data_dir = "{tmp_path / "data"}"', config.read_text(),
                             flags=re.M))
    agencies = ("customs", "tax", "safe", "commerce", "market", "ciq")
    for agency in agencies:
        endpoint_file = config.parent / "endpoints" / f"agency-{agency}.toml"
        text = endpoint_file.read_text()
        transport = "".join(f"{key} = {json.dumps(value)}\n" for key, value in broker.transport(f"agency-{agency}").items())
        endpoint_file.write_text(text[:text.index("[transport]")] + "[transport]\n" + transport)
    parties = {agency: AmqpParty(broker, f"agency-{agency}") for agency in agencies}
    outbox, inbox = (tmp_path / "data" / "etps-shenyang" / box for box in ("OutBox", "InBox"))
    with RunningHub(config):
        outbox.mkdir(parents=True, exist_ok=True)
        (outbox / "REVIEW101.xml").write_bytes((SAMPLES / "catalog/REVIEW101-hub-application.xml").read_bytes())
        parts = {agency: wait_until(party.delivered, timeout=30, step=0.05) for agency, party in parties.items()}
        for agency, party in parties.items():
            party.put(f"verdict-{agency}", (SAMPLES / f"review/{agency.upper()}-verdict.xml").read_bytes())
        decided = wait_until(lambda: [p for p in inbox.iterdir() if p.name.startswith("REVIEW131_")]
                             if inbox.exists() else [], timeout=30, step=0.05)
    ns = {"r": "urn:customs-hub:review:1"}
    assert {agency: [etree.fromstring(body).findtext("r:Agency", namespaces=ns) for _, body in received]
            for agency, received in parts.items()} == {agency: [agency.upper()] for agency in agencies}
    (decision,) = decided
    root = etree.fromstring(decision.read_bytes())
    assert root.findtext("r:Decision", namespaces=ns) == "INCOMPLETE"  # SAFE needs more information
    assert {r.findtext("r:Agency", namespaces=ns): r.findtext("r:Verdict", namespaces=ns)
            for r in root.findall("r:AgencyResult", ns)} == {
        "CUSTOMS": "APPROVED", "TAX": "APPROVED", "SAFE": "NEEDS_INFO", "COMMERCE": "APPROVED", "MARKET": "APPROVED",
        "CIQ": "APPROVED"}
