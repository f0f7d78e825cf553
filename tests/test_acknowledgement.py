"""Journal before acknowledgement: a source is settled (its file moved to SentBox, its AMQP message
acknowledged) only after the journal has committed what was read from it. A journal whose commit
fails shows it on every transport: the source is still there to be read again, and the restarted hub
delivers the document once."""

from __future__ import annotations

import pytest

import hub
from conftest import PG_DSN, PG_PASSWORD_ENV, SAMPLES
from deployment import deploy, wait_until
from exchange.journal import Journal, PostgresDatabase, SQLiteDatabase

INV101 = (SAMPLES / "etps-shenyang/INV101-import.xml").read_bytes()


class CommitFailed(Exception):
    """The journal's disk or server refusing the commit."""


def failing(database_class):
    class FailingCommit(database_class):
        """A journal database that refuses every commit."""

        def commit(self) -> None:
            raise CommitFailed("the journal could not commit (test)")

    return FailingCommit


def journal_database(backend, failing_commit: bool):
    """A database on the test's backend (the same file or schema each time), failing its commits or not."""
    if backend.name == "sqlite":
        return (failing(SQLiteDatabase) if failing_commit else SQLiteDatabase)(backend.path)
    import os

    cls = failing(PostgresDatabase) if failing_commit else PostgresDatabase
    return cls(PG_DSN, backend.schema, password=os.environ[PG_PASSWORD_ENV])


@pytest.mark.parametrize("kind", ["local", "sftp", "amqp"])
def test_a_source_is_not_acknowledged_when_the_journal_cannot_commit_it(tmp_path, backend, kind, request):
    servers = {"sshd": request.getfixturevalue("sshd")} if kind == "sftp" else {}
    if kind == "amqp":
        servers["broker"] = request.getfixturevalue("broker")
    config, parties = deploy(tmp_path, {"etps-shenyang": kind, "customs": "local", "zone": "local"}, **servers)
    backend.configure(config)
    enterprise = parties["etps-shenyang"]
    assembly = hub.assemble(config)

    engine = hub.open_engine(assembly, journal=Journal(journal_database(backend, failing_commit=True)))
    try:
        enterprise.put("INV101-import.xml", INV101)  # once the hub has declared its queue
        with pytest.raises(CommitFailed):
            wait_until(engine.poll, timeout=30, step=0.02)  # polls until the document is read and committed
    finally:
        engine.close()  # as a hub whose journal failed stops; AMQP puts back what it did not acknowledge

    if kind == "amqp":  # back in the queue, unacknowledged
        broker = servers["broker"]
        assert wait_until(lambda: broker.waiting(broker.receive_queue("etps-shenyang")) == 1, timeout=10)
    else:
        assert (enterprise.names("OutBox"), enterprise.settled(), enterprise.parked()) == (
            ["INV101-import.xml"], [], [])

    engine = hub.open_engine(assembly, journal=Journal(journal_database(backend, failing_commit=False)))
    try:
        engine.run(once=True)
        documents = engine.journal.documents()
    finally:
        engine.close()
    assert [(d["message_type"], d["state"]) for d in documents] == [("INV101", "DELIVERED")]
    assert [p.name[:7] for p in (tmp_path / "data" / "customs" / "InBox").iterdir()] == ["INV101_"]
    if kind != "amqp":
        assert (enterprise.names("OutBox"), enterprise.settled()) == ([], ["INV101-import.xml"])
