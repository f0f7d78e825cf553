"""A whole hub on real transports, written as config files the way an operator would, run in a thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import hub
from conftest import HOME

from parties import AmqpParty, FolderParty, amqp_transport, sftp_transport

ENDPOINTS = {
    "etps-shenyang": dict(party="enterprise", dialect="enterprise", ids=["DXPENT0000016069"],
                          may_send=["INV101", "SAS101", "SAS111", "SAS121"], may_receive=["INV201", "INV202", "INV211", "SAS200", "SAS221", "SAS223", "SAS224"]),
    "customs": dict(party="customs", dialect="enterprise", ids=["CUS0000", "DXPDSWNEMS000001"],
                    may_send=["INV201", "INV202", "INV211"], may_receive=["INV101"]),
    "zone": dict(party="zone", dialect="customs", ids=["ZONE0801", "DXPZONE080100001"],
                 may_send=["SAS200", "SAS221", "SAS223", "SAS224"], may_receive=["SAS101", "SAS111", "SAS121"]),
}


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_deployment(root: Path, transports: dict[str, dict], poll_interval: float = 0.05) -> Path:
    """config/hub.toml and config/endpoints/*.toml under ``root``; returns the hub.toml path."""
    config = root / "config"
    (config / "endpoints").mkdir(parents=True)
    (config / "hub.toml").write_text(f"""
[hub]
data_dir = "{root / 'data'}"
catalog = "{HOME / 'schemas' / 'catalog.toml'}"
routes = "{HOME / 'routes'}"
endpoints = "endpoints"
poll_interval = {poll_interval}
batch_size = 100
""")
    for name, transport in transports.items():
        lines = [f"{key} = {_toml(value)}" for key, value in ENDPOINTS[name].items()]
        lines.append('contact = "test@example.cn"')
        lines.append("[transport]")
        lines += [f"{key} = {_toml(value)}" for key, value in transport.items()]
        (config / "endpoints" / f"{name}.toml").write_text("\n".join(lines) + "\n")
    return config / "hub.toml"


def deploy(root: Path, kinds: dict[str, str], broker=None, sshd=None) -> tuple[Path, dict]:
    """Endpoints on the named transports ('amqp', 'sftp', 'local'); returns (hub.toml, parties)."""
    transports, parties = {}, {}
    for name, kind in kinds.items():
        if kind == "amqp":
            transports[name], parties[name] = amqp_transport(broker, name)
        elif kind == "sftp":
            transports[name], parties[name] = sftp_transport(sshd, name)
        else:
            transports[name] = {"kind": "local", "folder": name}
            parties[name] = FolderParty(root / "data" / name)
    return write_deployment(root, transports), parties


class RunningHub:
    """`hub run` in a thread of this process (the journal lives in that thread), stopped on exit."""

    def __init__(self, config: Path):
        self.config = config
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="hub", daemon=True)

    def _run(self) -> None:
        try:
            engine = hub.open_engine(hub.assemble(self.config))
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.failure = exc
            self.ready.set()
            return
        self.data_dir = engine.journal.path.parent
        self.ready.set()
        try:
            engine.run(poll_interval=0.05, stop=self.stop)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            self.failure = exc
        finally:
            engine.close()

    def __enter__(self) -> "RunningHub":
        self.thread.start()
        self.ready.wait(30)
        if self.failure:
            raise self.failure
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(60)
        if self.failure:
            raise self.failure

    def journal(self):
        from exchange.journal import Journal

        return Journal(self.data_dir / "journal.sqlite", readonly=True)


def journal_count(journal: Path, sql: str) -> int:
    """One number from a hub's SQLite journal, read beside the running hub (0 before it exists)."""
    import sqlite3

    if not journal.exists():
        return 0
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0
    finally:
        db.close()


def wait_until(condition, timeout: float = 60.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(step)
    return condition()


class Printed:
    """What the hub printed so far (pytest's capsys, read as it comes), to wait on a line, never a time."""

    def __init__(self, capsys):
        self.capsys, self.out, self.err = capsys, "", ""

    def shows(self, text: str) -> bool:
        out, err = self.capsys.readouterr()
        self.out, self.err = self.out + out, self.err + err
        return text in self.err


class Arrivals:
    """What a party has received so far: each document's bytes and the identities it came under."""

    def __init__(self, party):
        self.party = party
        self.identities: dict[bytes, set[str]] = {}

    def at_least(self, count: int) -> bool:
        for identity, body in self.party.delivered():
            self.identities.setdefault(body, set()).add(identity)
        return len(self.identities) >= count


def numbered(sample: bytes, number: int) -> bytes:
    """A copy of a sample with its own message id, so each one is a distinct document."""
    start = sample.index(b"<message_id>") + len(b"<message_id>")
    end = sample.index(b"</message_id>")
    return sample[:start] + sample[start:end][:-6] + b"%06d" % number + sample[end:]


__all__ = ["AmqpParty", "Arrivals", "FolderParty", "Printed", "RunningHub", "deploy", "journal_count", "numbered", "wait_until",
           "write_deployment"]
