"""Throughput on the real transports, beside the raw rates of the libraries underneath.

    .venv/bin/python bench/transports.py [--count 3000] [--only raw|amqp|sftp]

Needs RabbitMQ on 127.0.0.1:5672 (guest) and /usr/sbin/sshd (tests/services.sh installs both);
it starts its own sshd on a free loopback port. Prints, for the 11 KB INV101 (30 items):

- raw pika: consume + ack (prefetch 200), publish with one confirm round trip per message,
  and publish with pipelined confirms (the hub's AMQP adapter, batches of 200);
- raw paramiko: SFTP get (open + prefetch + read) with TCP_NODELAY;
- AMQP -> hub -> AMQP: N documents waiting in the enterprise's queue, through one hub
  process into customs' queue, everything journaled;
- SFTP -> hub -> AMQP: N files waiting in the enterprise's SFTP OutBox, the same way.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

HOME = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(HOME), str(HOME / "tests")]

import paramiko  # noqa: E402
import pika  # noqa: E402

import hub  # noqa: E402
from adapters.amqp import AmqpOutbound, AmqpSettings  # noqa: E402
from exchange import logs  # noqa: E402
from exchange.message import Outgoing  # noqa: E402
from exchange.spec import Table  # noqa: E402

from deployment import deploy, numbered  # noqa: E402  (tests/: the same deployment the tests use)
from servers import AMQP_PASSWORD_ENV, Broker, Sshd, rabbitmq_connection  # noqa: E402

SAMPLE = (HOME / "samples" / "etps-shenyang" / "INV101-import.xml").read_bytes()


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:8,.0f} /s"


def raw_pika(broker: Broker, count: int) -> None:
    settings = AmqpSettings.read("raw", Table(broker.transport("raw", receive_queue=""), "bench", "transport."),
                                 10**8)
    outbound = AmqpOutbound(settings)  # declares the queue the raw runs use too
    batch = [Outgoing(f"d{i}", "doc", SAMPLE, f"n{i}") for i in range(count)]
    started = time.perf_counter()
    for start in range(0, count, 200):
        assert set(outbound.send_many(batch[start:start + 200]).values()) == {None}
    pipelined = time.perf_counter() - started
    outbound.close()
    queue = settings.send_queue
    channel = broker.channel()
    channel.confirm_delivery()
    properties = pika.BasicProperties(delivery_mode=2)
    single = min(count, 1000)
    started = time.perf_counter()
    for _ in range(single):
        channel.basic_publish("", queue, SAMPLE, properties)
    print(f"  pika publish, one confirm round trip each: {rate(single, time.perf_counter() - started)}")
    print(f"  pika publish, pipelined confirms (adapter):{rate(count, pipelined)}")
    channel.basic_qos(prefetch_count=200)
    consumed = 0
    started = time.perf_counter()
    for method, _, _ in channel.consume(queue, inactivity_timeout=5):
        if method is None:
            break
        channel.basic_ack(method.delivery_tag)
        consumed += 1
        if consumed == single + count:
            break
    print(f"  pika consume + ack, prefetch 200:          {rate(consumed, time.perf_counter() - started)}")
    channel.cancel()
    channel.close()


def raw_paramiko(sshd: Sshd, count: int) -> None:
    folder = Path(tempfile.mkdtemp(dir=sshd.root))
    for index in range(count):
        (folder / f"f{index:05d}.xml").write_bytes(SAMPLE)
    import socket

    sock = socket.create_connection(("127.0.0.1", sshd.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    transport.start_client()
    transport.auth_publickey(sshd.user, paramiko.PKey.from_path(sshd.client_key))
    sftp = paramiko.SFTPClient.from_transport(transport)
    started = time.perf_counter()
    for entry in sftp.listdir_attr(str(folder)):
        with sftp.open(f"{folder}/{entry.filename}", "rb") as handle:
            handle.prefetch(entry.st_size)
            handle.read()
    print(f"  paramiko SFTP get, TCP_NODELAY:            {rate(count, time.perf_counter() - started)}")
    transport.close()


def through_hub(root: Path, kinds: dict, broker: Broker, sshd: Sshd, count: int) -> float:
    config, parties = deploy(root, kinds, broker, sshd)
    enterprise = parties["etps-shenyang"]
    documents = [(f"INV101-{n:06d}.xml", numbered(SAMPLE, n)) for n in range(count)]
    hub.open_engine(hub.assemble(config)).close()  # connecting declares every AMQP endpoint's queues
    if kinds["etps-shenyang"] == "amqp":
        for start in range(0, count, 500):
            broker.publish_many("etps-shenyang", documents[start:start + 500])
    else:
        for name, body in documents:
            enterprise.put(name, body)
    customs_queue = broker.send_queue("customs")
    stop = threading.Event()
    engine_box = {}

    def run():
        engine = engine_box["engine"] = hub.open_engine(hub.assemble(config))
        try:
            engine.run(poll_interval=0.05, stop=stop)
        finally:
            engine.close()

    connection = rabbitmq_connection()
    channel = connection.channel()
    thread = threading.Thread(target=run)
    started = time.perf_counter()
    thread.start()
    while channel.queue_declare(customs_queue, passive=True).method.message_count < count:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join()
    connection.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--only", choices=("raw", "amqp", "sftp"), help="run one part")
    args = parser.parse_args()
    os.environ.setdefault(AMQP_PASSWORD_ENV, "guest")
    logs.configure("json", "warning", stream=open(os.devnull, "w"))
    root = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    sshd = Sshd(root / "sshd")
    sshd.start()
    broker = Broker()
    try:
        print(f"INV101 sample: {len(SAMPLE):,} bytes, {args.count} documents per run")
        if args.only in (None, "raw"):
            print("raw library rates:")
            raw_pika(broker, args.count)
            raw_paramiko(sshd, args.count)
        if args.only in (None, "amqp", "sftp"):
            print("through one hub process (journaled, validated, routed, delivered with confirms):")
        if args.only in (None, "amqp"):
            amqp = through_hub(root / "amqp", {"etps-shenyang": "amqp", "customs": "amqp", "zone": "amqp"},
                               broker, sshd, args.count)
            print(f"  AMQP -> hub -> AMQP:                       {amqp:8,.0f} /s   (target 1,000)")
            broker.delete_all()
            broker = Broker()
        if args.only in (None, "sftp"):
            sftp = through_hub(root / "sftp", {"etps-shenyang": "sftp", "customs": "amqp", "zone": "amqp"},
                               broker, sshd, args.count)
            print(f"  SFTP -> hub -> AMQP:                       {sftp:8,.0f} /s   (target 400)")
    finally:
        broker.delete_all()
        sshd.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS) of the benchmark process: {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
