"""Two hub processes share one PostgreSQL journal and the same RabbitMQ queues as competing
consumers; one of them is killed halfway. Each document is still processed, and delivered, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import psycopg
import pytest

from conftest import HOME, PG_DSN, SAMPLES
from deployment import deploy, numbered, wait_until
from exchange.journal import now

pytestmark = [pytest.mark.amqp]

INV101 = (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes()
COUNT = 2000


def test_two_processes_on_one_postgres_journal_process_each_document_once(tmp_path, broker):
    config, parties = deploy(tmp_path, {"etps-shenyang": "amqp", "customs": "amqp", "zone": "amqp"}, broker)
    schema = f"test_two_{uuid.uuid4().hex[:10]}"
    with config.open("a") as toml:
        toml.write(f'\n[journal]\nbackend = "postgres"\ndsn = "host=127.0.0.1 port=5432 dbname=journal user=journal"\n'
                   f'password_env = "HUB_TEST_JOURNAL_PASSWORD"\nschema = "{schema}"\n')
    text = config.read_text().replace("batch_size = 100", 'batch_size = 50\ndelivery_lease = "3s"')
    config.write_text(text)
    env = {**os.environ, "HUB_TEST_JOURNAL_PASSWORD": "journal"}
    db = psycopg.connect(PG_DSN, autocommit=True)

    def count(sql: str) -> int:
        try:
            return db.execute(sql.replace("FROM ", f'FROM "{schema}".')).fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return 0

    logs = [open(tmp_path / f"hub-{name}.log", "wb") for name in "ab"]
    hubs = [subprocess.Popen([sys.executable, "-X", "faulthandler", str(HOME / "hub.py"), "--config", str(config), "--data-dir",
                              str(tmp_path / f"data-{name}"), "run"], stdout=log, stderr=log, env=env)
            for name, log in zip("ab", logs)]
    try:
        queue = broker.receive_queue("etps-shenyang")
        assert wait_until(lambda: broker.consumers(queue) == 2, timeout=60, step=0.1), "the hubs did not start"
        broker.publish_many("etps-shenyang", [(f"list-{n}", numbered(INV101, n)) for n in range(COUNT)])
        assert wait_until(lambda: count("SELECT COUNT(*) FROM documents") >= COUNT // 3, timeout=120, step=0.05)
        hubs[0].send_signal(signal.SIGKILL)  # one process dies halfway; the other carries on
        hubs[0].wait(30)
        killed_at = count("SELECT COUNT(*) FROM documents")
        done = wait_until(lambda: count("SELECT COUNT(*) FROM deliveries WHERE state='DELIVERED'") >= COUNT,
                          timeout=120, step=0.5)
        assert done, db.execute(f'SELECT state, claimed_by, claimed_until < %s, COUNT(*) FROM "{schema}".deliveries'
                                ' GROUP BY 1, 2, 3', (now(),)).fetchall() + db.execute(
            f'SELECT state, COUNT(*) FROM "{schema}".documents GROUP BY 1').fetchall()
    finally:
        for process in hubs:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(60)
        for log in logs:
            log.close()
    try:
        states = dict(db.execute(f'SELECT state, COUNT(*) FROM "{schema}".documents GROUP BY state').fetchall())
        per_message = db.execute(f'SELECT message_id, COUNT(*) FROM "{schema}".documents WHERE state=%s'
                                 ' GROUP BY message_id', ("DELIVERED",)).fetchall()
        owners = dict(db.execute(f'SELECT claimed_by, COUNT(*) FROM "{schema}".deliveries GROUP BY claimed_by')
                      .fetchall())
        broken = db.execute(f'SELECT COUNT(*) FROM "{schema}".deliveries WHERE state != %s', ("DELIVERED",)).fetchone()[0]
    finally:
        db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        db.close()
    received = parties["customs"].delivered()
    by_body: dict[bytes, set[str]] = {}
    for message_id, body in received:
        by_body.setdefault(body, set()).add(message_id)
    assert set(by_body) == {numbered(INV101, n) for n in range(COUNT)}  # every list reached customs ...
    assert all(len(ids) == 1 for ids in by_body.values())  # ... each under one message id
    assert len(per_message) == COUNT and all(n == 1 for _, n in per_message)  # each processed once
    assert set(states) <= {"DELIVERED", "DUPLICATE"} and broken == 0
    assert len(owners) == 2, owners  # both processes did part of the work
    print(f"\ntwo processes: killed one after {killed_at} documents were journaled; {COUNT} delivered once "
          f"each; {states.get('DUPLICATE', 0)} redelivered messages recognised as duplicates; deliveries "
          f"sent by process: {sorted(owners.values())}; customs received {len(received)} messages, "
          f"{len(received) - len(by_body)} of them a copy sent again under its first message id")
