"""The journal keeps bytes once, events append-only and hash-chained."""

from __future__ import annotations

import sqlite3

import pytest

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


def test_events_cannot_be_changed_or_removed_through_sql(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    with journal.transaction():
        journal.append("D1", "RECEIVED", reason="ok")
    journal.close()
    db = sqlite3.connect(tmp_path / "j.sqlite")
    for statement in ("UPDATE events SET reason='changed'", "DELETE FROM events"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(statement)


def test_altering_a_stored_event_breaks_the_chain_at_that_event(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    with journal.transaction():
        for number in range(5):
            journal.append(f"D{number}", "RECEIVED", reason="ok")
    assert journal.verify_chain() is None
    journal.close()
    # someone with write access to the file drops the guard and edits history
    db = sqlite3.connect(tmp_path / "j.sqlite")
    db.execute("DROP TRIGGER events_are_append_only_update")
    db.execute("UPDATE events SET reason='changed' WHERE seq=3")
    db.commit()
    assert Journal(tmp_path / "j.sqlite", readonly=True).verify_chain() == 3


def test_a_savepoint_undoes_one_document_and_keeps_the_chain_whole(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    with journal.transaction():
        journal.append("D1", "RECEIVED")
        with pytest.raises(RuntimeError):
            with journal.savepoint():
                journal.append("D2", "RECEIVED")
                journal.add_document("D2", "e", "b.xml", journal.store_body(b"<b/>"), 4, state="ACCEPTED")
                raise RuntimeError("this document's bug")
        journal.append("D3", "RECEIVED")
    assert [d["document_id"] for d in journal.documents()] == []
    assert [len(journal.events(document_id)) for document_id in ("D1", "D2", "D3")] == [1, 0, 1]
    assert journal.verify_chain() is None


def test_the_chain_continues_across_restarts(tmp_path):
    journal = Journal(tmp_path / "j.sqlite")
    with journal.transaction():
        journal.append("D1", "RECEIVED")
    journal.close()
    journal = Journal(tmp_path / "j.sqlite")
    with journal.transaction():
        journal.append("D2", "RECEIVED")
    assert journal.verify_chain() is None
