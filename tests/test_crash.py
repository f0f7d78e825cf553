"""The hub killed with SIGKILL in the middle of a batch, then started again.

A real `hub run` process takes 1,000 inventory lists for customs (over RabbitMQ) and
300 pass forms for the zone system (a folder, converted by XSLT) from an enterprise's
OutBox. It is killed with SIGKILL while it works, then started again with
`hub run --once`. Afterwards every document has reached every destination, under
one identity each: a copy sent again after the crash carries the same AMQP message id
(the delivery id) or the same file name, and a source file read again is recognised
as a duplicate, not delivered a second time.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import HOME, SAMPLES
from deployment import deploy, journal_count, numbered, wait_until

pytestmark = [pytest.mark.amqp]

INV101 = (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes()
SAS121 = (SAMPLES / "etps-shenyang/SAS121-pass.xml").read_bytes()
_MESSAGE_ID = re.compile(rb"<message_id>([^<]*)</message_id>")


def _hub(config, *args: str, log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HOME / "hub.py"), "--config", str(config), *args],
                            stdout=log, stderr=log)




def test_a_hub_killed_mid_batch_delivers_everything_once_after_a_restart(tmp_path, broker):
    config, parties = deploy(tmp_path, {"etps-shenyang": "local", "customs": "amqp", "zone": "local"}, broker)
    lists = [numbered(INV101, n) for n in range(1000)]
    passes = [numbered(SAS121, n) for n in range(300)]
    outbox = tmp_path / "data" / "etps-shenyang" / "OutBox"
    outbox.mkdir(parents=True, exist_ok=True)
    for number, data in enumerate(lists + passes):
        (outbox / f".{number:05d}.part").write_bytes(data)
        (outbox / f".{number:05d}.part").rename(outbox / f"doc-{number:05d}.xml")
    journal = tmp_path / "data" / "journal.sqlite"

    with open(tmp_path / "hub.log", "wb") as log:
        first = _hub(config, "run", log=log)
        try:
            assert wait_until(lambda: journal_count(journal, "SELECT COUNT(*) FROM documents") >= 300, timeout=60,
                              step=0.02), "the hub did not get going"
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        at_kill = {
            "documents": journal_count(journal, "SELECT COUNT(*) FROM documents"),
            "delivered": journal_count(journal, "SELECT COUNT(*) FROM deliveries WHERE state='DELIVERED'"),
            "pending": journal_count(journal, "SELECT COUNT(*) FROM deliveries WHERE state='PENDING'"),
            "sources_left": len([p for p in outbox.iterdir() if not p.name.startswith(".")]),
        }
        assert 0 < at_kill["documents"] < 1300, at_kill  # killed in the middle, not before or after
        second = _hub(config, "run", "--once", log=log)
        assert second.wait(180) == 0, (tmp_path / "hub.log").read_text()[-3000:]

    # customs, over AMQP: every list, each under one message id
    by_body: dict[bytes, set[str]] = {}
    received = parties["customs"].delivered()
    for message_id, body in received:
        by_body.setdefault(body, set()).add(message_id)
    assert set(by_body) == set(lists)
    assert all(len(ids) == 1 for ids in by_body.values())
    resent_same_id = len(received) - len(by_body)  # copies sent again under the same id after the crash
    # the zone system, a folder: every pass form, converted, once
    zone = [p.read_bytes() for p in (tmp_path / "data" / "zone" / "InBox").iterdir() if not p.name.startswith(".")]
    zone_ids = [_MESSAGE_ID.search(body).group(1) for body in zone]
    assert sorted(zone_ids) == sorted(_MESSAGE_ID.search(body).group(1) for body in passes)
    # the journal: each source document delivered once; what was read again is a duplicate
    db = sqlite3.connect(journal)
    rows = db.execute("SELECT message_id, state FROM documents").fetchall()
    delivered = [message_id for message_id, state in rows if state == "DELIVERED"]
    assert sorted(delivered) == sorted(_MESSAGE_ID.search(body).group(1).decode() for body in lists + passes)
    duplicates = sum(1 for _, state in rows if state == "DUPLICATE")
    assert {state for _, state in rows} <= {"DELIVERED", "DUPLICATE"}
    assert db.execute("SELECT COUNT(*) FROM deliveries WHERE state != 'DELIVERED'").fetchone()[0] == 0
    db.close()
    assert [p for p in outbox.iterdir() if not p.name.startswith(".")] == []
    from exchange.journal import Journal

    check = Journal(journal, readonly=True)
    assert check.audit()["broken"] is None
    check.close()
    print(f"\ncrash test: killed with {at_kill}; after the restart: 1300 documents delivered once each, "
          f"{duplicates} sources read again and recognised as duplicates, {resent_same_id} AMQP copies "
          f"sent again under their first message id, {len(zone)} zone files")
