"""The journal keeps bytes once, events append-only and hash-chained."""

from __future__ import annotations

import sqlite3

from exchange.journal import Journal


def test_bytes_are_stored_once_by_sha256(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    with journal.transaction():
        first = journal.store_body(b"<a/>")
        second = journal.store_body(b"<a/>")
    assert first == second
    count = sqlite3.connect(tmp_path / "j.sqlite").execute("SELECT COUNT(*) FROM bodies").fetchone()[0]
    assert count == 1


def test_a_failed_transaction_leaves_nothing_behind(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    try:
        with journal.transaction():
            journal.add_document("D1", "etps", "a.xml", journal.store_body(b"<a/>"), 4, state="RECEIVED")
            journal.append("D1", "RECEIVED")
            raise RuntimeError("crash")
    except RuntimeError:
        pass
    assert journal.documents() == []
    with journal.transaction():
        journal.append("D2", "RECEIVED")
    assert journal.verify_chain() is None


def test_altering_a_stored_event_breaks_the_chain_at_that_event(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    with journal.transaction():
        for number in range(5):
            journal.append(f"D{number}", "RECEIVED", reason="ok")
    assert journal.verify_chain() is None
    journal.close()
    db = sqlite3.connect(tmp_path / "j.sqlite")
    db.execute("UPDATE events SET reason='changed' WHERE seq=3")
    db.commit()
    assert Journal(tmp_path / "j.sqlite").verify_chain() == 3


def test_the_chain_continues_across_restarts(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    with journal.transaction():
        journal.append("D1", "RECEIVED")
    journal.close()
    journal = Journal(tmp_path / "j.sqlite")
    with journal.transaction():
        journal.append("D2", "RECEIVED")
    assert journal.verify_chain() is None
