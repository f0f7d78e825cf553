"""Shared fixtures: the repository's own config, pointed at a fresh data folder per test."""

from __future__ import annotations

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
