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
    """The embedded default running in-process on a private data folder (and, with ``config``, another
    journal: see ``Backend``)."""

    def __init__(self, data_dir: Path, config: Path = CONFIG):
        self.data_dir, self.config = data_dir, config
        self.assembly = hub.assemble(config, data_dir)
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
def running_hub(tmp_path, backend):
    """The embedded default running in-process, its journal on each backend in turn."""
    instance = Hub(tmp_path / "data", backend.configure(copy_default_config(tmp_path)))
    instance.backend = backend
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


PG_PASSWORD_ENV = "HUB_TEST_JOURNAL_PASSWORD"
os.environ.setdefault(PG_PASSWORD_ENV, "journal")  # the tests' role (tests/services.sh), read as a deployment would


class Backend:
    """Where a test's journal lives: a SQLite file, or a private schema of the tests' PostgreSQL database
    (dropped after the test); and a raw connection past the Journal (an operator's, or an attacker's)."""

    def __init__(self, name: str, path: Path):
        self.name = name
        self.path = path  # the SQLite file
        self.schema = f"test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        self.opened: list = []

    def configure(self, config: Path) -> Path:
        """``config`` (a hub.toml) with its ``[journal]`` table on this backend; returns it."""
        import re

        if self.name == "postgres":
            table = (f'[journal]\nbackend = "postgres"\ndsn = "host=127.0.0.1 port=5432 dbname=journal user=journal '
                     f'connect_timeout=5"\npassword_env = "{PG_PASSWORD_ENV}"\nschema = "{self.schema}"\n\n')
            text = config.read_text()
            text, found = re.subn(r"^\[journal\]\n(?:(?!\[)[^\n]*\n)*", table, text, flags=re.M)
            config.write_text(text if found else text + "\n" + table)
        return config

    def open(self, readonly: bool = False):
        from exchange.journal import Journal, PostgresDatabase

        if self.name == "sqlite":
            journal = Journal(self.path, readonly)
        else:
            journal = Journal(PostgresDatabase(PG_DSN, self.schema, readonly))
        self.opened.append(journal)
        return journal

    def raw(self, sql: str, params: tuple = ()) -> list:
        if self.name == "sqlite":
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

    def unguard(self, change: str) -> None:
        """Drop the guard that keeps events from being changed ("update") or removed ("delete"), as
        someone with the owner's rights can."""
        if self.name == "sqlite":
            self.raw(f"DROP TRIGGER events_are_append_only_{change}")
        else:
            self.raw("ALTER TABLE events DISABLE TRIGGER events_are_append_only_row")

    def drop(self) -> None:
        for journal in self.opened:
            journal.close()
        if self.name == "postgres":
            import psycopg

            with psycopg.connect(PG_DSN, autocommit=True) as db:
                db.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    """Each journal backend in turn, for a hub whose data folder is tmp_path/data."""
    chosen = Backend(request.param, tmp_path / "data" / "journal.sqlite")
    yield chosen
    chosen.drop()


@pytest.fixture(params=["sqlite", "postgres"])
def journal_store(request, tmp_path):
    """An empty journal on each backend in turn."""
    store = Backend(request.param, tmp_path / "journal.sqlite")
    yield store
    store.drop()
