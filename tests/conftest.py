"""Shared fixtures: the repository's own config, pointed at a fresh data folder per test."""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

import pytest

import hub
from exchange import logs

HOME = Path(hub.__file__).resolve().parent
SAMPLES = HOME / "samples"
CONFIG = HOME / "config" / "hub.toml"


@pytest.fixture(autouse=True, scope="session")
def quiet_logs():
    logs.configure("json", "error")


def copy_default_config(root: Path) -> Path:
    """The embedded default's config under ``root``/config, still reading this checkout's schemas and
    routes, for a test to change an endpoint file; returns its hub.toml."""
    import re
    import shutil

    config = root / "config"
    shutil.copytree(HOME / "config", config, ignore=shutil.ignore_patterns("examples"))
    text = (config / "hub.toml").read_text()
    for key, target in (("catalog", HOME / "schemas" / "catalog.toml"), ("routes", HOME / "routes")):
        text = re.sub(rf'^{key} = "[^"]*"', f'{key} = "{target}"', text, flags=re.M)
    (config / "hub.toml").write_text(text)
    return config / "hub.toml"


@pytest.fixture
def assembly(tmp_path):
    """The embedded default's config, schemas and routes, with data under tmp_path."""
    return hub.assemble(CONFIG, tmp_path / "data")


@pytest.fixture
def context(assembly):
    return assembly.context


class Hub:
    """The embedded default running in-process on a private data folder."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.assembly = hub.assemble(CONFIG, data_dir)
        self.engine = hub.open_engine(self.assembly)
        self.journal = self.engine.journal

    def folder(self, endpoint: str, box: str) -> Path:
        return self.data_dir / endpoint / box

    def drop(self, endpoint: str, source: Path | bytes, name: str | None = None) -> Path:
        """Put a document in a party's OutBox the way its client does: write, then rename."""
        data = source if isinstance(source, bytes) else source.read_bytes()
        name = name or (source.name if isinstance(source, Path) else "document.xml")
        partial = self.folder(endpoint, "OutBox") / f".{name}.part"
        partial.write_bytes(data)
        final = self.folder(endpoint, "OutBox") / name
        partial.rename(final)
        return final

    def run_once(self) -> None:
        self.engine.run(once=True)

    def files(self, endpoint: str, box: str) -> list[Path]:
        return sorted(p for p in self.folder(endpoint, box).iterdir() if not p.name.startswith("."))

    def close(self) -> None:
        self.engine.close()


@pytest.fixture
def running_hub(tmp_path):
    instance = Hub(tmp_path / "data")
    yield instance
    instance.close()


@pytest.fixture
def sample():
    def find(relative: str) -> Path:
        path = SAMPLES / relative
        assert path.is_file(), f"missing sample {path}"
        return path

    return find


# -- real servers ---------------------------------------------------------------

@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """A private OpenSSH sshd on a free loopback port, for the whole session."""
    from servers import Sshd

    server = Sshd(tmp_path_factory.mktemp("sshd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rabbitmq():
    """RabbitMQ on 127.0.0.1:5672; fails (never skips) when it is not there."""
    from servers import rabbitmq_connection

    connection = rabbitmq_connection()
    connection.close()
    return "127.0.0.1:5672"


@pytest.fixture
def broker(rabbitmq):
    """A fresh name space of queues and exchanges on the real RabbitMQ for one test, removed after it."""
    from servers import Broker

    space = Broker()
    yield space
    space.delete_all()


# -- journal backends -----------------------------------------------------------

# The test role and database tests/services.sh creates; a test credential, not a deployment's.
PG_DSN = "host=127.0.0.1 port=5432 dbname=journal user=journal password=journal connect_timeout=5"


class JournalStore:
    """One empty journal in a backend, and a raw connection past the Journal (an operator's, or an attacker's)."""

    def __init__(self, backend: str, tmp_path: Path):
        self.backend = backend
        self.path = tmp_path / "journal.sqlite"
        self.schema = f"test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        self.opened: list = []

    def open(self, readonly: bool = False):
        from exchange.journal import Journal, PostgresDatabase

        if self.backend == "sqlite":
            journal = Journal(self.path, readonly)
        else:
            journal = Journal(PostgresDatabase(PG_DSN, self.schema, readonly))
        self.opened.append(journal)
        return journal

    def raw(self, sql: str, params: tuple = ()) -> list:
        if self.backend == "sqlite":
            db = sqlite3.connect(self.path, isolation_level=None)
            try:
                return db.execute(sql, params).fetchall()
            finally:
                db.close()
        import psycopg

        with psycopg.connect(PG_DSN, autocommit=True) as db:
            db.execute(f'SET search_path TO "{self.schema}"')
            cursor = db.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []

    def drop(self) -> None:
        for journal in self.opened:
            journal.close()
        if self.backend == "postgres":
            import psycopg

            with psycopg.connect(PG_DSN, autocommit=True) as db:
                db.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def journal_store(request, tmp_path):
    store = JournalStore(request.param, tmp_path)
    yield store
    store.drop()
