"""The journal: the durable record of every document and every step it took.

Two backends hold the same tables: ``SQLiteDatabase`` (the embedded default, one
file in WAL mode) and ``PostgresDatabase`` (several hub processes sharing one
journal). ``Journal`` writes portable SQL through either. Tables:

    bodies      every byte string the hub received or produced, stored once, keyed by SHA-256
    documents   one row per received document: its facts and its current state (a projection)
    keys        correlation keys of a document (SeqNo, BondInvtNo, ...), for tracing
    events      append-only; each event carries the SHA-256 of its predecessor (a hash chain)
    deliveries  the outbox: one row per (document, destination), PENDING until the adapter confirms;
                a process that hands one to its worker claims it for a while (claimed_by/_until)

``events`` is the record; ``documents.state`` and ``deliveries.state`` are
projections kept beside it for fast lookups. Writes happen inside
``transaction()``, which the engine opens once per batch (group commit): one
sync for a whole batch, with the same guarantee as one per document, because
sources are acknowledged only after the commit.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import orjson

from . import drift

_BLOB_PIECE = 1 << 20

# One schema for both backends; {blob} and {serial} are the column types that differ.
_TABLES = """
CREATE TABLE IF NOT EXISTS bodies (
    sha256 TEXT PRIMARY KEY,
    size   BIGINT NOT NULL,
    body   {blob} NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    document_id  TEXT PRIMARY KEY,
    received_at  TEXT NOT NULL,
    endpoint     TEXT NOT NULL,
    source_name  TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    message_type TEXT NOT NULL DEFAULT '',
    dialect      TEXT NOT NULL DEFAULT '',
    message_id   TEXT NOT NULL DEFAULT '',
    sender       TEXT NOT NULL DEFAULT '',
    business_id  TEXT NOT NULL DEFAULT '',
    part         TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    resubmission_of TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS documents_sha ON documents (sha256, endpoint);
CREATE INDEX IF NOT EXISTS documents_message ON documents (message_id, sender);
CREATE INDEX IF NOT EXISTS documents_business ON documents (business_id);
CREATE TABLE IF NOT EXISTS keys (
    document_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS keys_value ON keys (value);
CREATE INDEX IF NOT EXISTS keys_document ON keys (document_id);
CREATE TABLE IF NOT EXISTS events (
    seq         {serial},
    document_id TEXT NOT NULL,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    endpoint    TEXT NOT NULL DEFAULT '',
    route       TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{{}}',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_document ON events (document_id, seq);
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    route       TEXT NOT NULL,
    map         TEXT NOT NULL DEFAULT '',
    sha256      TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    claimed_by  TEXT NOT NULL DEFAULT '',
    claimed_until TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (state, due_at);
CREATE INDEX IF NOT EXISTS deliveries_document ON deliveries (document_id);
CREATE TABLE IF NOT EXISTS expectations (
    expectation_id TEXT PRIMARY KEY,
    document_id  TEXT NOT NULL,
    endpoint     TEXT NOT NULL,
    route        TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    within_s     DOUBLE PRECISION NOT NULL,
    due_at       TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    receipt_id   TEXT NOT NULL DEFAULT '',
    updated_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS expectations_document ON expectations (document_id);
CREATE INDEX IF NOT EXISTS expectations_waiting ON expectations (state, due_at);
CREATE TABLE IF NOT EXISTS gathers (
    name        TEXT NOT NULL,
    gather_key  TEXT NOT NULL,
    document_id TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    receiver    TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    state       TEXT NOT NULL,
    decision    TEXT NOT NULL DEFAULT '',
    decided_at  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (name, gather_key)
);
CREATE INDEX IF NOT EXISTS gathers_open ON gathers (state, due_at);
CREATE TABLE IF NOT EXISTS gather_answers (
    name        TEXT NOT NULL,
    gather_key  TEXT NOT NULL,
    member      TEXT NOT NULL,
    document_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    late        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS gather_answers_key ON gather_answers (name, gather_key);
{drift_table}
CREATE INDEX IF NOT EXISTS documents_received ON documents (received_at);
CREATE INDEX IF NOT EXISTS documents_refused ON documents (endpoint, received_at) WHERE state IN ('REJECTED', 'FAILED');
CREATE INDEX IF NOT EXISTS deliveries_dead ON deliveries (endpoint, updated_at) WHERE state = 'DEAD';
CREATE INDEX IF NOT EXISTS deliveries_created ON deliveries (created_at);
CREATE TABLE IF NOT EXISTS counts (
    scope TEXT NOT NULL,
    a     TEXT NOT NULL,
    b     TEXT NOT NULL,
    state TEXT NOT NULL,
    n     BIGINT NOT NULL,
    PRIMARY KEY (scope, a, b, state)
);
CREATE TABLE IF NOT EXISTS endpoint_status (
    endpoint     TEXT NOT NULL,
    node         TEXT NOT NULL,
    connected    INTEGER NOT NULL,
    last_contact TEXT NOT NULL DEFAULT '',
    last_error   TEXT NOT NULL DEFAULT '',
    backlog      BIGINT NOT NULL DEFAULT 0,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (endpoint, node)
);
CREATE TABLE IF NOT EXISTS alert_acks (
    alert_id TEXT PRIMARY KEY,
    by       TEXT NOT NULL,
    reason   TEXT NOT NULL,
    at       TEXT NOT NULL
);
"""

_SQLITE_GUARDS = """
CREATE TRIGGER IF NOT EXISTS events_are_append_only_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_are_append_only_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END;
"""

_POSTGRES_GUARDS = """
CREATE OR REPLACE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'journal events are append-only'; END $$;
CREATE OR REPLACE TRIGGER events_are_append_only_row BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE OR REPLACE TRIGGER events_are_append_only_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();
"""

# Columns added after a journal was first written: (table, column, definition).
_ADDED_COLUMNS = (
    ("documents", "part", "TEXT NOT NULL DEFAULT ''"),
    ("documents", "resubmission_of", "TEXT NOT NULL DEFAULT ''"),
    ("deliveries", "claimed_by", "TEXT NOT NULL DEFAULT ''"),
    ("deliveries", "claimed_until", "TEXT NOT NULL DEFAULT ''"),
    ("deliveries", "source", "TEXT NOT NULL DEFAULT ''"),
    ("documents", "code", "TEXT NOT NULL DEFAULT ''"),
)

# Indexes on columns that older journals gain through _ADDED_COLUMNS: created after those.
_LATE_INDEXES = (
    "CREATE INDEX IF NOT EXISTS documents_resubmissions ON documents (resubmission_of) WHERE resubmission_of != ''",
)

# counts: documents by (endpoint, type, state) and deliveries by (source, destination, state), kept by
# triggers so the console's overview and /metrics read a few rows, not a million.
_COUNT_EVENTS = (
    ("document", "documents", "NEW.endpoint", "NEW.message_type", "OLD.endpoint", "OLD.message_type"),
    ("delivery", "deliveries", "NEW.source", "NEW.endpoint", "OLD.source", "OLD.endpoint"),
)

_SQLITE_COUNTERS = "".join(f"""
CREATE TRIGGER IF NOT EXISTS count_{scope}_insert AFTER INSERT ON {table} BEGIN
    INSERT INTO counts (scope, a, b, state, n) VALUES ('{scope}', {a}, {b}, NEW.state, 1)
        ON CONFLICT (scope, a, b, state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS count_{scope}_state AFTER UPDATE OF state ON {table} WHEN OLD.state != NEW.state BEGIN
    UPDATE counts SET n = n - 1 WHERE scope = '{scope}' AND a = {old_a} AND b = {old_b} AND state = OLD.state;
    INSERT INTO counts (scope, a, b, state, n) VALUES ('{scope}', {a}, {b}, NEW.state, 1)
        ON CONFLICT (scope, a, b, state) DO UPDATE SET n = n + 1;
END;""" for scope, table, a, b, old_a, old_b in _COUNT_EVENTS)

_POSTGRES_COUNTERS = "".join(f"""
CREATE OR REPLACE FUNCTION count_{scope}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.state = NEW.state THEN RETURN NEW; END IF;
        UPDATE counts SET n = n - 1 WHERE scope = '{scope}' AND a = {old_a} AND b = {old_b} AND state = OLD.state;
    END IF;
    INSERT INTO counts (scope, a, b, state, n) VALUES ('{scope}', {a}, {b}, NEW.state, 1)
        ON CONFLICT (scope, a, b, state) DO UPDATE SET n = counts.n + 1;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER count_{scope} AFTER INSERT OR UPDATE OF state ON {table}
    FOR EACH ROW EXECUTE FUNCTION count_{scope}();""" for scope, table, a, b, old_a, old_b in _COUNT_EVENTS)

_BACKFILL_COUNTS = """
INSERT INTO counts (scope, a, b, state, n)
    SELECT 'document', endpoint, message_type, state, COUNT(*) FROM documents GROUP BY endpoint, message_type, state;
INSERT INTO counts (scope, a, b, state, n)
    SELECT 'delivery', source, endpoint, state, COUNT(*) FROM deliveries GROUP BY source, endpoint, state
"""


class SQLiteDatabase:
    """The embedded backend: one file, WAL mode, synchronous=FULL."""

    name = "sqlite"

    def __init__(self, path: Path, readonly: bool = False):
        self.path = path
        self.readonly = readonly
        if readonly:
            if not path.is_file():
                raise FileNotFoundError(f"no journal at {path}")
            # one thread at a time, but not always the one that opened it (the console's pool)
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                       check_same_thread=False)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: the console hands a connection between request threads, one at a time
        self._db = sqlite3.connect(str(path), isolation_level=None, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL, not NORMAL: in WAL mode NORMAL may lose the last commits on power loss,
        # and sources are acknowledged right after a commit. Group commit keeps it cheap.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_TABLES.format(blob="BLOB", serial="INTEGER PRIMARY KEY", drift_table=drift.TABLE))
        for table, column, definition in _ADDED_COLUMNS:
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        for statement in _LATE_INDEXES:
            self._db.execute(statement)
        self._db.executescript(_SQLITE_GUARDS)
        if not self._db.execute("SELECT 1 FROM sqlite_master WHERE name='count_document_insert'").fetchone():
            self._db.executescript("BEGIN IMMEDIATE;" + _BACKFILL_COUNTS + ";" + _SQLITE_COUNTERS + "COMMIT;")

    @property
    def where(self) -> str:
        return str(self.path)

    def execute(self, sql: str, params: tuple = ()):
        return self._db.execute(sql, params)

    def executemany(self, sql: str, rows) -> None:
        self._db.executemany(sql, rows)

    def begin_write(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")  # the write lock, so the chain's tail read next stays the tail

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def store_blob(self, digest: str, data: bytes) -> None:
        if len(data) <= _BLOB_PIECE:
            self._db.execute("INSERT INTO bodies (sha256, size, body) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                             (digest, len(data), data))
            return
        # A large body is written in pieces: binding it whole would have SQLite copy all of it first.
        cursor = self._db.execute(
            "INSERT INTO bodies (sha256, size, body) VALUES (?, ?, zeroblob(?)) ON CONFLICT DO NOTHING",
            (digest, len(data), len(data)))
        if cursor.rowcount:
            view = memoryview(data)
            with self._db.blobopen("bodies", "body", cursor.lastrowid) as blob:
                for start in range(0, len(data), _BLOB_PIECE):
                    blob.write(view[start:start + _BLOB_PIECE])

    def claim_keeper(self, owner: str, lease: float):
        return None  # one process per SQLite journal: no one else takes claims over

    def close(self) -> None:
        self._db.close()  # closing twice is harmless


class _ClaimKeeper(threading.Thread):
    def __init__(self, connect, owner: str, lease: float):
        super().__init__(name="claim-keeper", daemon=True)
        self.connect, self.owner, self.lease = connect, owner, lease
        self.stopped = threading.Event()

    def run(self) -> None:
        connection = None
        while not self.stopped.wait(self.lease / 4):
            try:
                connection = connection or self.connect()
                connection.execute("UPDATE deliveries SET claimed_until=%s WHERE claimed_by=%s AND state=%s",
                                   (now(self.lease), self.owner, PENDING))
            except Exception:  # noqa: BLE001 - the next beat tries again; the engine's scans renew too
                connection = None
        if connection is not None:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(5)


class PostgresDatabase:
    """The shared backend: several hub processes may write one journal. Every write
    transaction takes one advisory lock, so the hash chain and the duplicate checks see
    each other's commits in order (group commit keeps the lock short: one per batch)."""

    name = "postgres"
    LOCK = 0x6875624A  # 'hubJ'

    def __init__(self, dsn: str, schema: str = "public", readonly: bool = False, password: str | None = None):
        import psycopg  # imported here: only a PostgreSQL deployment needs it

        self.readonly = readonly
        self.path = None
        self.schema = schema
        self._psycopg = psycopg
        options = {"password": password} if password else {}
        self._dsn, self._options = dsn, options
        self._db = psycopg.connect(dsn, autocommit=True, **options)
        info = self._db.info
        self.where = f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname} schema {schema}"
        if readonly:
            self._db.execute("SET default_transaction_read_only = on")
            self._db.execute(f'SET search_path TO "{schema}"')
            return
        self._db.execute("BEGIN")
        self._db.execute("SELECT pg_advisory_xact_lock(%s)", (self.LOCK,))  # two processes starting at once
        self._db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        self._db.execute(f'SET search_path TO "{schema}"')
        for statement in _TABLES.format(blob="BYTEA", serial="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                                        drift_table=drift.TABLE).split(";"):
            if statement.strip():
                self._db.execute(statement)
        for table, column, definition in _ADDED_COLUMNS:
            self._db.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition}")
        for statement in _LATE_INDEXES:
            self._db.execute(statement)
        self._db.execute(_POSTGRES_GUARDS)
        if not self._db.execute("SELECT 1 FROM pg_trigger WHERE tgname = 'count_document' AND tgrelid ="
                                " 'documents'::regclass").fetchone():
            for statement in _BACKFILL_COUNTS.split(";"):
                self._db.execute(statement)
        self._db.execute(_POSTGRES_COUNTERS)
        self._db.execute("COMMIT")

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def execute(self, sql: str, params: tuple = ()):
        return self._db.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows) -> None:
        with self._db.cursor() as cursor:
            cursor.executemany(self._sql(sql), list(rows))

    def begin_write(self) -> None:
        self._db.execute("BEGIN")
        self._db.execute("SELECT pg_advisory_xact_lock(%s)", (self.LOCK,))

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        if self._db.info.transaction_status != self._psycopg.pq.TransactionStatus.IDLE:
            self._db.execute("ROLLBACK")

    def store_blob(self, digest: str, data: bytes) -> None:
        self._db.execute("INSERT INTO bodies (sha256, size, body) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                         (digest, len(data), data))

    def claim_keeper(self, owner: str, lease: float) -> _ClaimKeeper:
        def connect():
            connection = self._psycopg.connect(self._dsn, autocommit=True, **self._options)
            connection.execute(f'SET search_path TO "{self.schema}"')
            return connection

        return _ClaimKeeper(connect, owner, lease)

    def close(self) -> None:
        self._db.close()


GENESIS = "0" * 64

# Document states (the projection in documents.state)
ACCEPTED, DELIVERED, REJECTED, FAILED, DUPLICATE = "ACCEPTED", "DELIVERED", "REJECTED", "FAILED", "DUPLICATE"
# Delivery kinds and states
ROUTED_COPY, ERROR_RECEIPT = "document", "error-receipt"
# Expectation states: a receipt owed by a destination
WAITING, RECEIVED, OVERDUE, LATE = "WAITING", "RECEIVED", "OVERDUE", "LATE"
# Gathering states, and the delivery kind of what the hub itself decides
OPEN, DECIDED, DECISION_FAILED = "OPEN", "DECIDED", "DECISION_FAILED"
AUDIT = "audit"  # the document id under which operators' actions are chained
HUB_DOCUMENT = "hub-document"
PENDING, SENT, DEAD = "PENDING", "DELIVERED", "DEAD"


_second: tuple[int, str] = (0, "")


def now(later: float = 0.0) -> str:
    """UTC time as ISO 8601 with microseconds; sorts as text. Cheap: called for every event."""
    global _second
    moment = time.time() + later
    whole = int(moment)
    if whole != _second[0]:
        _second = (whole, datetime.fromtimestamp(whole, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{int((moment - whole) * 1_000_000):06d}+00:00"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class PendingDelivery:
    delivery_id: str
    document_id: str
    endpoint: str
    route: str
    sha256: str
    name: str
    kind: str
    attempts: int
    message_type: str
    message_id: str
    sender: str


class Journal:
    """The journal over one database connection, used only by the thread that opened it."""

    def __init__(self, target: "Path | SQLiteDatabase | PostgresDatabase", readonly: bool = False):
        self._db = target if not isinstance(target, Path) else SQLiteDatabase(target, readonly)
        self.path = self._db.path  # the SQLite file; None for PostgreSQL
        self.backend = self._db.name
        self._depth = 0
        self._events: list[tuple] = []  # appended events of the open transaction, in chain order
        self._last_hash = GENESIS

    @property
    def where(self) -> str:
        return self._db.where

    def close(self) -> None:
        self._db.close()

    def _tail_hash(self) -> str:
        row = self._db.execute("SELECT hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else GENESIS

    @contextmanager
    def transaction(self) -> Iterator["Journal"]:
        """One atomic group of writes. Events appended inside are written at the end, in one go."""
        if self._depth:
            raise RuntimeError("journal transactions do not nest; use savepoint()")
        self._db.begin_write()
        self._depth = 1
        try:
            # Read under the write lock: another process may have extended the chain.
            self._last_hash = self._tail_hash()
            yield self
            self._flush_events()
            self._db.commit()
        except BaseException:
            self._events.clear()
            self._db.rollback()
            raise
        finally:
            self._depth = 0

    @contextmanager
    def savepoint(self) -> Iterator["Journal"]:
        """Inside a transaction: writes that are undone together if the block fails."""
        if not self._depth:
            raise RuntimeError("a savepoint needs an open transaction")
        mark, last_hash = len(self._events), self._last_hash
        self._db.execute("SAVEPOINT document")
        try:
            yield self
        except BaseException:
            self._db.execute("ROLLBACK TO document")
            self._db.execute("RELEASE document")
            del self._events[mark:]
            self._last_hash = last_hash
            raise
        else:
            self._db.execute("RELEASE document")

    # -- writing -------------------------------------------------------------

    def store_body(self, data: bytes, digest: str | None = None) -> str:
        digest = digest or sha256(data)
        self._db.store_blob(digest, data)
        return digest

    def add_document(self, document_id: str, endpoint: str, source_name: str, digest: str, size: int, *,
                     state: str, reason: str = "", message_type: str = "", dialect: str = "",
                     message_id: str = "", sender: str = "", business_id: str = "", part: str = "",
                     keys: dict[str, str] | None = None, resubmission_of: str = "", code: str = "") -> None:
        """One row per received document, written once with what the pipeline found out (``code``:
        the kind of error that refused it)."""
        self._db.execute(
            "INSERT INTO documents (document_id, received_at, endpoint, source_name, sha256, size, message_type,"
            " dialect, message_id, sender, business_id, part, state, reason, resubmission_of, code)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (document_id, now(), endpoint, source_name, digest, size, message_type, dialect, message_id, sender,
             business_id, part, state, reason, resubmission_of, code),
        )
        keys = dict(keys or {})
        if business_id:
            keys.setdefault("business_id", business_id)
        if keys:
            self._db.executemany(
                "INSERT INTO keys (document_id, name, value) VALUES (?, ?, ?)",
                [(document_id, name, value) for name, value in keys.items() if value],
            )

    def append(self, document_id: str, kind: str, *, endpoint: str = "", route: str = "",
               reason: str = "", detail: dict | None = None) -> None:
        """Append one event to the hash chain (written with the transaction's other events)."""
        if not self._depth:
            raise RuntimeError("journal events are appended inside a transaction")
        at = now()
        # text fields come from documents and file names: keep them valid UTF-8
        reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")
        detail_json = orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode() if detail else "{}"
        digest = event_hash(self._last_hash, document_id, at, kind, endpoint, route, reason, detail_json)
        self._events.append((document_id, at, kind, endpoint, route, reason, detail_json, self._last_hash, digest))
        self._last_hash = digest

    def _flush_events(self) -> None:
        if self._events:
            self._db.executemany(
                "INSERT INTO events (document_id, at, kind, endpoint, route, reason, detail, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._events,
            )
            self._events.clear()

    def add_delivery(self, delivery_id: str, document_id: str, endpoint: str, route: str, map_name: str,
                     digest: str, name: str, kind: str, owner: str = "", lease: float = 0.0, source: str = "") -> None:
        """A PENDING delivery of a document from ``source`` to ``endpoint``; claimed by ``owner`` for
        ``lease`` seconds when that process sends it itself."""
        at = now()
        self._db.execute(
            "INSERT INTO deliveries (delivery_id, document_id, endpoint, route, map, sha256, name, kind, state,"
            " created_at, updated_at, due_at, claimed_by, claimed_until, source)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (delivery_id, document_id, endpoint, route, map_name, digest, name, kind, PENDING, at, at, at,
             owner, now(lease) if owner else "", source),
        )

    def settle_delivery(self, delivery_id: str, state: str, error: str = "") -> None:
        self._db.execute(
            "UPDATE deliveries SET state=?, attempts=attempts+1, last_error=?, updated_at=? WHERE delivery_id=?"
            " AND state=?",  # one another process took over and settled first stays as it is
            (state, error, now(), delivery_id, PENDING),
        )

    def retry_delivery(self, delivery_id: str, error: str, delay: float) -> None:
        self._db.execute(
            "UPDATE deliveries SET attempts=attempts+1, last_error=?, updated_at=?, due_at=? WHERE delivery_id=?"
            " AND state=?", (error, now(), now(delay), delivery_id, PENDING),
        )

    def settle_documents(self, document_ids: list[str]) -> None:
        """Mark accepted documents DELIVERED once none of their routed copies is still open."""
        self._db.executemany(
            "UPDATE documents SET state=? WHERE document_id=? AND state=? AND NOT EXISTS"
            " (SELECT 1 FROM deliveries d WHERE d.document_id=documents.document_id AND d.kind=? AND d.state!=?)",
            [(DELIVERED, document_id, ACCEPTED, ROUTED_COPY, SENT) for document_id in document_ids],
        )

    # -- reading -------------------------------------------------------------

    def delivery_counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state").fetchall())

    def body(self, digest: str) -> bytes:
        row = self._db.execute("SELECT body FROM bodies WHERE sha256=?", (digest,)).fetchone()
        if row is None:
            raise KeyError(digest)
        return row[0] if isinstance(row[0], bytes) else bytes(row[0])

    def find_accepted(self, *, endpoint: str, digest: str, sender: str = "", message_type: str = "",
                      message_id: str = "", part: str = "") -> tuple[str, str] | None:
        """(document id, sha256) of an earlier accepted document from this endpoint with the same
        bytes, or the same sender, type, message id and pocket (when a message id is given)."""
        row = self._db.execute(
            "SELECT document_id, sha256 FROM documents WHERE endpoint=? AND state IN (?, ?) AND (sha256=?"
            " OR (message_id=? AND message_id!='' AND sender=? AND message_type=? AND part=?)) LIMIT 1",
            (endpoint, ACCEPTED, DELIVERED, digest, message_id, sender, message_type, part),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def find_refused(self, *, endpoint: str, digest: str, source_name: str) -> str | None:
        """An earlier refused document from this endpoint with the same bytes under the same name."""
        if not digest:
            return None
        row = self._db.execute(
            "SELECT document_id FROM documents WHERE sha256=? AND endpoint=? AND source_name=? AND state IN (?, ?)"
            " LIMIT 1", (digest, endpoint, source_name, REJECTED, FAILED),
        ).fetchone()
        return row[0] if row else None

    def claim_due(self, owner: str, limit: int, lease: float, busy: set[str] = frozenset()
                  ) -> list[PendingDelivery]:
        """Claim, for ``lease`` seconds, the PENDING deliveries that are due and that no other live
        process holds (unclaimed, claimed by ``owner`` before a restart, or whose claim ran out).
        Inside a transaction: two processes never claim the same delivery."""
        at = now()
        rows = self._db.execute(
            "SELECT d.delivery_id, d.document_id, d.endpoint, d.route, d.sha256, d.name, d.kind, d.attempts,"
            " doc.message_type, doc.message_id, doc.sender"
            " FROM deliveries d JOIN documents doc ON doc.document_id = d.document_id"
            " WHERE d.state=? AND d.due_at<=? AND (d.claimed_by IN ('', ?) OR d.claimed_until<?)"
            " ORDER BY d.due_at LIMIT ?",
            (PENDING, at, owner, at, limit + len(busy)),
        ).fetchall()
        claimed = [PendingDelivery(*row) for row in rows if row[0] not in busy][:limit]
        until = now(lease)
        self._db.executemany("UPDATE deliveries SET claimed_by=?, claimed_until=? WHERE delivery_id=?",
                             [(owner, until, delivery.delivery_id) for delivery in claimed])
        return claimed

    def extend_claims(self, delivery_ids: list[str], lease: float) -> None:
        """Claims on deliveries written in this transaction run from its end, however long it took."""
        until = now(lease)
        self._db.executemany("UPDATE deliveries SET claimed_until=? WHERE delivery_id=?",
                             [(until, delivery_id) for delivery_id in delivery_ids])

    def claim_keeper(self, owner: str, lease: float):
        """A thread that renews ``owner``'s claims every quarter lease on its own connection, so a long
        batch holding the write lock never lets them run out (None: one process only, nothing to keep)."""
        return self._db.claim_keeper(owner, lease)

    def renew_claims(self, owner: str, lease: float) -> None:
        """Keep this process's claims on what it is still sending."""
        self._db.execute("UPDATE deliveries SET claimed_until=? WHERE claimed_by=? AND state=?",
                         (now(lease), owner, PENDING))

    def find_documents(self, ident: str) -> list[str]:
        """Document ids matching a document id, message id, business id or correlation key."""
        rows = self._db.execute(
            "SELECT document_id FROM documents WHERE document_id=? OR message_id=? OR business_id=?"
            " UNION SELECT document_id FROM keys WHERE value=? ORDER BY 1",
            (ident, ident, ident, ident),
        ).fetchall()
        return [row[0] for row in rows]

    def related(self, document_ids: list[str], rounds: int = 3, limit: int = 200) -> list[str]:
        """The documents, and every document linked to them by a shared (key, value) or as a
        resubmission, a few links deep: one business number's whole cross-party story."""
        found = list(dict.fromkeys(document_ids))
        frontier = list(found)
        for _ in range(rounds):
            if not frontier or len(found) >= limit:
                break
            marks = ",".join("?" for _ in frontier)
            rows = self._db.execute(
                f"SELECT DISTINCT other.document_id FROM keys mine JOIN keys other"
                f" ON other.name = mine.name AND other.value = mine.value"
                f" WHERE mine.document_id IN ({marks})"
                f" UNION SELECT document_id FROM documents WHERE resubmission_of IN ({marks}) AND resubmission_of != ''"
                f" UNION SELECT resubmission_of FROM documents WHERE document_id IN ({marks}) AND resubmission_of != ''",
                (*frontier, *frontier, *frontier)).fetchall()
            frontier = [row[0] for row in rows if row[0] not in found]
            found += frontier
        return found[:limit]

    def document(self, document_id: str) -> dict | None:
        cursor = self._db.execute("SELECT * FROM documents WHERE document_id=?", (document_id,))
        row = cursor.fetchone()
        return dict(zip([c[0] for c in cursor.description], row)) if row else None

    def documents(self) -> list[dict]:
        cursor = self._db.execute("SELECT * FROM documents ORDER BY received_at, document_id")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def events(self, document_id: str) -> list[dict]:
        cursor = self._db.execute(
            "SELECT seq, at, kind, endpoint, route, reason, detail FROM events WHERE document_id=? ORDER BY seq",
            (document_id,),
        )
        names = [c[0] for c in cursor.description]
        result = []
        for row in cursor.fetchall():
            event = dict(zip(names, row))
            event["detail"] = json.loads(event["detail"])
            result.append(event)
        return result

    def deliveries(self, document_id: str) -> list[dict]:
        cursor = self._db.execute(
            "SELECT * FROM deliveries WHERE document_id=? ORDER BY created_at, delivery_id", (document_id,)
        )
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def verify_chain(self) -> int | None:
        """The seq of the first event whose hash does not match, or None when the chain is whole."""
        broken = self.audit()["broken"]
        return broken["seq"] if broken else None

    def audit(self) -> dict:
        """Recompute the hash chain from the first event: how many events, and the first broken one
        (its seq, document, kind and why), or None."""
        prev, count = GENESIS, 0
        for seq, document_id, at, kind, endpoint, route, reason, detail, prev_hash, digest in self._db.execute(
            "SELECT seq, document_id, at, kind, endpoint, route, reason, detail, prev_hash, hash"
            " FROM events ORDER BY seq"
        ):
            why = ""
            if prev_hash != prev:
                why = "its link to the event before does not match: an event before it was removed or inserted"
            elif event_hash(prev, document_id, at, kind, endpoint, route, reason, detail) != digest:
                why = "its content does not match its hash: it was altered after it was written"
            if why:
                return {"events": count, "broken": {"seq": seq, "document_id": document_id, "at": at,
                                                    "kind": kind, "why": why}}
            prev = digest
            count += 1
        return {"events": count, "broken": None}

    # -- correlation and receipts ---------------------------------------------

    def correlated(self, keys: dict[str, str]) -> list[dict]:
        """Accepted documents sharing a (name, value) of ``keys``, earliest first, with all their keys."""
        pairs = [(name, value) for name, value in keys.items() if value]
        if not pairs:
            return []
        match = " OR ".join("(k.name=? AND k.value=?)" for _ in pairs)
        rows = self._db.execute(
            "SELECT DISTINCT d.document_id, d.endpoint, d.message_type, d.received_at FROM documents d"
            f" JOIN keys k ON k.document_id = d.document_id WHERE ({match}) AND d.state IN (?, ?)"
            " ORDER BY d.received_at, d.document_id LIMIT 50",
            (*[x for pair in pairs for x in pair], ACCEPTED, DELIVERED)).fetchall()
        if not rows:
            return []
        their: dict[str, dict[str, str]] = {row[0]: {} for row in rows}
        awaiting: dict[str, set[str]] = {row[0]: set() for row in rows}
        marks = ",".join("?" for _ in rows)
        for document_id, name, value in self._db.execute(
                f"SELECT document_id, name, value FROM keys WHERE document_id IN ({marks})", tuple(their)).fetchall():
            their[document_id][name] = value
        for document_id, receipt_type in self._db.execute(
                f"SELECT document_id, receipt_type FROM expectations WHERE document_id IN ({marks})"
                " AND state IN (?, ?)", (*their, WAITING, OVERDUE)).fetchall():
            awaiting[document_id].add(receipt_type)
        return [{"document_id": document_id, "endpoint": endpoint, "message_type": message_type,
                 "received_at": received_at, "keys": their[document_id], "awaiting": awaiting[document_id]}
                for document_id, endpoint, message_type, received_at in rows]

    def learn_keys(self, document_id: str, keys: dict[str, str]) -> dict[str, str]:
        """Keys an answer assigned to its original (customs gives a list its SeqNo and BondInvtNo in the
        receipt): added to the original's, so later answers that carry only those find it too."""
        known = {name for (name,) in self._db.execute("SELECT name FROM keys WHERE document_id=?", (document_id,))}
        new = {name: value for name, value in keys.items() if value and name not in known}
        self._db.executemany("INSERT INTO keys (document_id, name, value) VALUES (?, ?, ?)",
                             [(document_id, name, value) for name, value in new.items()])
        return new

    def add_expectation(self, document_id: str, endpoint: str, route: str, receipt_type: str, within: float) -> None:
        """A receipt ``endpoint`` owes for ``document_id``; its clock starts when the copy is delivered."""
        self._db.execute(
            "INSERT INTO expectations (expectation_id, document_id, endpoint, route, receipt_type, within_s, state,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (f"{document_id}:{endpoint}:{receipt_type}", document_id, endpoint, route, receipt_type, within,
             WAITING, now()))

    def start_expectations(self, document_id: str, endpoint: str, expects: tuple[tuple[str, float], ...]) -> None:
        """The copy was delivered: the receipts it owes (type, seconds) are due from now."""
        at = now()
        self._db.executemany(
            "UPDATE expectations SET due_at=?, updated_at=? WHERE expectation_id=? AND due_at=''",
            [(now(within), at, f"{document_id}:{endpoint}:{receipt_type}") for receipt_type, within in expects])

    def fulfil_expectation(self, document_id: str, endpoint: str, receipt_type: str, receipt_id: str) -> dict | None:
        """The receipt arrived: RECEIVED in time, LATE after its alert. None: it was not expected."""
        row = self._row("SELECT * FROM expectations WHERE document_id=? AND endpoint=? AND receipt_type=?"
                        " AND state IN (?, ?)", (document_id, endpoint, receipt_type, WAITING, OVERDUE))
        if row is None:
            return None
        # LATE only after its alert: a receipt that waited at its source while the hub was down is read
        # before the first overdue scan, and counts as in time.
        state = LATE if row["state"] == OVERDUE else RECEIVED
        self._db.execute("UPDATE expectations SET state=?, receipt_id=?, updated_at=? WHERE expectation_id=?",
                         (state, receipt_id, now(), row["expectation_id"]))
        return {**row, "state": state}

    def overdue_expectations(self) -> list[dict]:
        """Receipts whose time has run out and that have not been alerted on yet."""
        return self._rows("SELECT * FROM expectations WHERE state=? AND due_at != '' AND due_at < ? ORDER BY due_at",
                          (WAITING, now()))

    def mark_overdue(self, expectation_id: str) -> bool:
        """False when another process alerted on it first."""
        cursor = self._db.execute("UPDATE expectations SET state=?, updated_at=? WHERE expectation_id=? AND state=?",
                                  (OVERDUE, now(), expectation_id, WAITING))
        return cursor.rowcount == 1

    def expectations(self, state: str | None = None, document_id: str | None = None) -> list[dict]:
        where, params = [], []
        if state:
            where.append("state=?")
            params.append(state)
        if document_id:
            where.append("document_id=?")
            params.append(document_id)
        sql = "SELECT * FROM expectations" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY due_at"
        return self._rows(sql, tuple(params))

    # -- gatherings (scatter-gather) -------------------------------------------

    def open_gather(self, name: str, key: str, document_id: str, endpoint: str, receiver: str, within: float) -> bool:
        """Open a gathering; False when one with this key is already open or decided."""
        cursor = self._db.execute(
            "INSERT INTO gathers (name, gather_key, document_id, endpoint, receiver, opened_at, due_at, state)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (name, key, document_id, endpoint, receiver, now(), now(within), OPEN))
        return cursor.rowcount == 1

    def gather(self, name: str, key: str) -> dict | None:
        return self._row("SELECT * FROM gathers WHERE name=? AND gather_key=?", (name, key))

    def add_answer(self, name: str, key: str, member: str, document_id: str, late: bool) -> None:
        self._db.execute("INSERT INTO gather_answers (name, gather_key, member, document_id, received_at, late)"
                         " VALUES (?, ?, ?, ?, ?, ?)", (name, key, member, document_id, now(), int(late)))

    def answers(self, name: str, key: str) -> list[dict]:
        """Every answer of a gathering, in arrival order."""
        return self._rows("SELECT * FROM gather_answers WHERE name=? AND gather_key=? ORDER BY received_at",
                          (name, key))

    def due_gathers(self) -> list[dict]:
        return self._rows("SELECT * FROM gathers WHERE state=? AND due_at < ? ORDER BY due_at", (OPEN, now()))

    def close_gather(self, name: str, key: str, state: str, decision: str = "") -> bool:
        """Close an OPEN gathering as DECIDED (or DECISION_FAILED); False when another process, or an
        earlier call, closed it first (inside a write transaction: only one decision is ever made)."""
        cursor = self._db.execute(
            "UPDATE gathers SET state=?, decision=?, decided_at=? WHERE name=? AND gather_key=? AND state=?",
            (state, decision, now(), name, key, OPEN))
        return cursor.rowcount == 1

    def gathers_started_by(self, document_id: str) -> list[dict]:
        return self._rows("SELECT * FROM gathers WHERE document_id=?", (document_id,))

    def reopen_gather(self, name: str, key: str) -> None:
        self._db.execute("UPDATE gathers SET state=?, decision='', decided_at='' WHERE name=? AND gather_key=?"
                         " AND state=?", (OPEN, name, key, DECISION_FAILED))

    def gathers(self) -> list[dict]:
        """Open gatherings and those with answers after their decision (``hub status``)."""
        rows = self._rows(
            "SELECT g.*, (SELECT COUNT(DISTINCT member) FROM gather_answers a WHERE a.name=g.name AND"
            " a.gather_key=g.gather_key AND a.late=0) AS answered, (SELECT COUNT(*) FROM gather_answers a WHERE"
            " a.name=g.name AND a.gather_key=g.gather_key AND a.late=1) AS late FROM gathers g"
            " WHERE g.state=? OR EXISTS (SELECT 1 FROM gather_answers a WHERE a.name=g.name AND"
            " a.gather_key=g.gather_key AND a.late=1) ORDER BY g.opened_at", (OPEN,))
        for row in rows:
            row["summary"] = (f"{row['answered']} answered, due {row['due_at']}" if row["state"] == OPEN else
                              f"decided {row['decision']} at {row['decided_at']}; {row['late']} late answer(s)")
        return rows

    # -- console -------------------------------------------------------------

    def report_endpoints(self, node: str, health: dict[str, dict]) -> None:
        """What one hub process knows of its endpoints' health (the console's and /metrics' source)."""
        at = now()
        self._db.executemany(
            "INSERT INTO endpoint_status (endpoint, node, connected, last_contact, last_error, backlog, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (endpoint, node) DO UPDATE SET connected=excluded.connected,"
            " last_contact=excluded.last_contact, last_error=excluded.last_error, backlog=excluded.backlog,"
            " updated_at=excluded.updated_at",
            [(name, node, int(not h["error"]), h["last_contact"], h["error"], h.get("backlog", 0), at)
             for name, h in health.items()])

    def record_action(self, kind: str, by: str, reason: str = "", detail: dict | None = None) -> None:
        """An operator's action, in the hash chain under the document id 'audit'."""
        self.append(AUDIT, kind, reason=reason, detail={"by": by, **(detail or {})})

    def acknowledge_alert(self, alert_id: str, by: str, reason: str) -> None:
        self._db.execute("INSERT INTO alert_acks (alert_id, by, reason, at) VALUES (?, ?, ?, ?)"
                         " ON CONFLICT (alert_id) DO UPDATE SET by=excluded.by, reason=excluded.reason, at=excluded.at",
                         (alert_id, by, reason, now()))

    # -- operators -----------------------------------------------------------

    def delivery(self, delivery_id: str) -> dict | None:
        return self._row("SELECT * FROM deliveries WHERE delivery_id=?", (delivery_id,))

    def _row(self, sql: str, params: tuple) -> dict | None:
        cursor = self._db.execute(sql, params)
        row = cursor.fetchone()
        return dict(zip([c[0] for c in cursor.description], row)) if row else None

    def execute(self, sql: str, params: tuple = ()) -> None:
        """A write to a table a feature module keeps itself (``drift``), ``?`` placeholders."""
        if not self._depth:
            raise RuntimeError("journal writes happen inside a transaction")
        self._db.execute(sql, params)

    def rows(self, sql: str, params: tuple = ()) -> list[dict]:
        """A read-only query of the journal's tables (the console's read model), ``?`` placeholders."""
        return self._rows(sql, params)

    def _rows(self, sql: str, params: tuple = ()) -> list[dict]:
        cursor = self._db.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def failed(self) -> dict:
        """What needs an operator: DEAD deliveries, and refused documents not resubmitted since."""
        dead = self._rows(
            "SELECT d.delivery_id, d.document_id, d.endpoint, d.route, d.kind, d.attempts, d.last_error,"
            " d.updated_at, doc.message_type, doc.business_id, doc.endpoint AS source"
            " FROM deliveries d JOIN documents doc ON doc.document_id = d.document_id"
            " WHERE d.state=? ORDER BY d.updated_at", (DEAD,))
        refused = self._rows(
            "SELECT document_id, received_at, endpoint, source_name, message_type, business_id, state, reason"
            " FROM documents doc WHERE state IN (?, ?) AND NOT EXISTS"
            " (SELECT 1 FROM documents later WHERE later.resubmission_of = doc.document_id AND later.resubmission_of != '')"
            " ORDER BY received_at", (REJECTED, FAILED))
        decisions = self._rows("SELECT name, gather_key, document_id, endpoint, decided_at FROM gathers WHERE state=?"
                               " ORDER BY decided_at", (DECISION_FAILED,))
        return {"dead": dead, "refused": refused, "decisions": decisions}

    def requeue_delivery(self, delivery_id: str) -> None:
        """A DEAD delivery back in the outbox, due now, with a fresh count of attempts."""
        at = now()
        self._db.execute(
            "UPDATE deliveries SET state=?, attempts=0, last_error='', updated_at=?, due_at=?, claimed_by='',"
            " claimed_until='' WHERE delivery_id=?", (PENDING, at, at, delivery_id))
        self._db.execute("UPDATE documents SET state=? WHERE state=? AND document_id ="
                         " (SELECT document_id FROM deliveries WHERE delivery_id=?)", (ACCEPTED, DELIVERED, delivery_id))

    def counts(self) -> dict:
        """Documents and deliveries by state (``hub status``)."""
        by_state = "SELECT state, CAST(SUM(n) AS BIGINT) FROM counts WHERE scope=? AND n != 0 GROUP BY state"
        return {"documents": dict(self._db.execute(by_state, ("document",)).fetchall()),
                "deliveries": dict(self._db.execute(by_state, ("delivery",)).fetchall())}


def event_hash(prev: str, document_id: str, at: str, kind: str, endpoint: str, route: str, reason: str,
               detail_json: str) -> str:
    # Each field prefixed by its length, so no field's content can shift a boundary.
    record = "".join(f"{len(field)}:{field}" for field in
                     (prev, document_id, at, kind, endpoint, route, reason, detail_json))
    return hashlib.sha256(record.encode("utf-8")).hexdigest()


def open_journal(settings, readonly: bool = False) -> Journal:
    """The journal the settings name (``config.JournalSettings``)."""
    if settings.backend == "sqlite":
        return Journal(settings.path, readonly)
    password = settings.password.reveal() if settings.password is not None else None
    return Journal(PostgresDatabase(settings.dsn, settings.schema, readonly, password))
