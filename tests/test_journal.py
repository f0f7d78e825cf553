"""The journal keeps bytes once, events append-only and hash-chained, in SQLite and in PostgreSQL alike."""

from __future__ import annotations

import pytest



def test_bytes_are_stored_once_by_sha256(journal_store):
    journal = journal_store.open()
    with journal.transaction():
        first = journal.store_body(b"<a/>")
        second = journal.store_body(b"<a/>")
    assert first == second
    assert journal_store.raw("SELECT COUNT(*) FROM bodies") == [(1,)]


def test_a_failed_transaction_leaves_nothing_behind(journal_store):
    journal = journal_store.open()
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


def test_events_cannot_be_changed_or_removed_through_sql(journal_store):
    journal = journal_store.open()
    with journal.transaction():
        journal.append("D1", "RECEIVED", reason="ok")
    journal.close()
    statements = ["UPDATE events SET reason='changed'", "DELETE FROM events"]
    if journal_store.name == "postgres":
        statements.append("TRUNCATE events")
    for statement in statements:
        with pytest.raises(Exception, match="append-only"):
            journal_store.raw(statement)
    assert journal_store.raw("SELECT reason FROM events") == [("ok",)]


def test_altering_a_stored_event_breaks_the_chain_at_that_event(journal_store):
    journal = journal_store.open()
    with journal.transaction():
        for number in range(5):
            journal.append(f"D{number}", "RECEIVED", reason="ok")
    assert journal.verify_chain() is None
    journal.close()
    # someone with the owner's rights drops the guard and edits history
    journal_store.unguard("update")
    journal_store.raw("UPDATE events SET reason='changed' WHERE seq=3")
    assert journal_store.open(readonly=True).verify_chain() == 3


@pytest.mark.parametrize("column, value", [
    ("document_id", "D9"), ("at", "2026-01-01T00:00:00.000000+00:00"), ("kind", "DELIVERED"),
    ("endpoint", "zone"), ("route", "another-route"), ("reason", "changed"), ("detail", '{"n": 4}'),
    ("hash", "0" * 64)])
def test_altering_any_field_of_an_event_breaks_the_chain_at_that_event(journal_store, column, value):
    """Every field an event stores is in its hash (or is its hash): none can be changed unseen."""
    journal = journal_store.open()
    with journal.transaction():
        for number in range(5):
            journal.append(f"D{number}", "RECEIVED", endpoint="customs", route="lists", reason="ok",
                           detail={"n": number})
    journal.close()
    journal_store.unguard("update")
    journal_store.raw(f"UPDATE events SET {column}=? WHERE seq=3", (value,))
    report = journal_store.open(readonly=True).audit()
    assert (report["broken"]["seq"], report["events"]) == (3, 2)  # the first two still verify
    assert report["broken"]["why"] == "its content does not match its hash: it was altered after it was written"


def test_a_savepoint_undoes_one_document_and_keeps_the_chain_whole(journal_store):
    journal = journal_store.open()
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


def test_the_chain_continues_across_restarts(journal_store):
    journal = journal_store.open()
    with journal.transaction():
        journal.append("D1", "RECEIVED")
    journal.close()
    journal = journal_store.open()
    with journal.transaction():
        journal.append("D2", "RECEIVED")
    assert journal.verify_chain() is None


def test_a_removed_event_breaks_the_chain_at_the_next_one(journal_store):
    journal = journal_store.open()
    with journal.transaction():
        for number in range(4):
            journal.append(f"D{number}", "RECEIVED")
    journal_store.unguard("delete")
    journal_store.raw("DELETE FROM events WHERE seq=2")
    report = journal.audit()
    assert report["broken"]["seq"] == 3 and "removed or inserted" in report["broken"]["why"]
    assert report["events"] == 1


def test_schema_drift_is_counted_per_type_and_party_on_both_backends(journal_store):
    from exchange.drift import DriftLog
    from exchange.policy import Drift

    journal = journal_store.open()
    drift = DriftLog(journal)
    field = Drift("unknown-element", "newMark", "/Package/DataInfo/BussinessData/INV201/BondInvtBsc/newMark", 30,
                  "newMark is not an element INV201.xsd knows here: accepted, not read")
    lines = [Drift("unknown-element", "x", f"/Package/DataInfo/BussinessData/INV211/BwsDt[{n}]/x", 40 + n, "m")
             for n in (1, 2, 3)]
    with journal.transaction():
        first = drift.record("doc-1", "INV201", "customs", [field])
        lines_first = drift.record("doc-2", "INV211", "customs", lines)  # three lines, one field
    with journal.transaction():
        second = drift.record("doc-3", "INV201", "customs", [field])
        other_party = drift.record("doc-4", "INV201", "zone", [field])
    assert [f["count"] for f in first + second + other_party] == [1, 2, 1]
    assert second[0]["first_seen"] == first[0]["first_seen"] != ""
    assert [(f["path"], f["count"], f["times"]) for f in lines_first] == [
        ("/Package/DataInfo/BussinessData/INV211/BwsDt/x", 1, 3)]
    summary = {(row["message_type"], row["endpoint"]): row for row in drift.summary()}
    assert sorted(summary) == [("INV201", "customs"), ("INV201", "zone"), ("INV211", "customs")]
    assert (summary[("INV201", "customs")]["documents"], summary[("INV201", "customs")]["last_document"]) == (2, "doc-3")
    events = journal.events("doc-3")
    assert [e["kind"] for e in events] == ["SCHEMA_DRIFT"]
    assert events[0]["detail"]["fields"] == [{"kind": "unknown-element", "element": "newMark", "path": field.path,
                                              "line": 30, "first_seen": first[0]["first_seen"], "count": 2}]
    assert journal.verify_chain() is None


def test_a_drift_path_of_any_length_is_counted_on_both_backends(journal_store):
    """Paths are keyed by their digest: a 4,000-character one (deep or long names) fits every backend's
    key and is still shown whole."""
    from exchange.drift import DriftLog
    from exchange.policy import Drift

    journal = journal_store.open()
    name = "x" * 4000
    field = Drift("unknown-element", name, f"/Package/{name}", 3, "m" * 5000)
    for document_id in ("doc-1", "doc-2"):
        with journal.transaction():
            (recorded,) = DriftLog(journal).record(document_id, "INV201", "customs", [field])
    assert (recorded["path"], recorded["count"]) == (f"/Package/{name}", 2)
    (event,) = journal.events("doc-2")
    assert event["detail"]["fields"][0]["path"] == f"/Package/{name}"
