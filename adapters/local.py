"""Local folders, laid out as the customs client lays them out.

    <folder>/OutBox    the party drops documents here; the hub picks them up
    <folder>/SentBox   the hub moves a picked-up file here once the journal holds it
    <folder>/FailBox   ... or here when it was refused (the answer goes to InBox)
    <folder>/InBox     the hub delivers documents and receipts here

Endpoint settings (``[transport]`` with ``kind = "local"``):

    folder         the party's folder, relative to the hub's data_dir
    settle_seconds a file must be this old before it is read (a writer may
                   still be filling it); 0 when writers rename into OutBox
    fsync          flush a delivered file to disk before renaming it into InBox (default true)

Delivery writes ``InBox/.<name>.part`` then renames it to ``<name>``: a reader
never sees half a file, and sending the same delivery again replaces the file
instead of adding a second one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from exchange.errors import TransportError
from exchange.message import Inbound, Message, Outgoing
from exchange.spec import Table

from .base import Lifecycle

BOXES = ("OutBox", "InBox", "SentBox", "FailBox")


class LocalSettings:
    def __init__(self, endpoint: str, transport: Table, data_dir: Path):
        self.endpoint = endpoint
        self.folder = (data_dir / transport.str("folder", endpoint)).resolve()
        self.settle_seconds = transport.float("settle_seconds", 0.0)
        self.fsync = transport.bool("fsync", True)
        transport.str("kind")
        transport.done()


def _ignored(name: str) -> bool:
    # temporary files of writers that rename into place, and dot files
    return name.startswith(".") or name.endswith((".part", ".tmp", ".filepart"))


def _move_aside(source: Path, box: Path) -> Path:
    """Rename into ``box`` without overwriting an earlier file of the same name."""
    target = box / source.name
    counter = 1
    while target.exists():
        target = box / f"{source.stem}.{counter}{source.suffix}"
        counter += 1
    os.replace(source, target)
    return target


class _FileAcknowledgement:
    def __init__(self, endpoint: str, path: Path, folder: Path):
        self.endpoint, self.path, self.folder = endpoint, path, folder

    def ack(self) -> None:
        self._move("SentBox")

    def nack(self, reason: str) -> None:
        self._move("FailBox")

    def _move(self, box: str) -> None:
        try:
            _move_aside(self.path, self.folder / box)
        except OSError as exc:
            raise TransportError(self.endpoint, f"could not move {self.path.name} to {box}: {exc}") from exc


class LocalInbound(Lifecycle):
    def __init__(self, settings: LocalSettings):
        self.settings = settings
        self.endpoint = settings.endpoint
        self.outbox = settings.folder / "OutBox"

    def connect(self) -> None:
        try:
            for box in BOXES:
                (self.settings.folder / box).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(self.endpoint, f"cannot create folders under {self.settings.folder}: {exc}") from exc

    def receive(self, max_count: int) -> list[Inbound]:
        try:
            entries = [e for e in os.scandir(self.outbox) if e.is_file() and not _ignored(e.name)]
        except OSError as exc:
            raise TransportError(self.endpoint, f"cannot list {self.outbox}: {exc}") from exc
        if self.settings.settle_seconds:
            newest = time.time() - self.settings.settle_seconds
            entries = [e for e in entries if e.stat().st_mtime <= newest]
        entries.sort(key=lambda e: (e.stat().st_mtime_ns, e.name))
        received = []
        for entry in entries[:max_count]:
            path = Path(entry.path)
            try:
                body = path.read_bytes()
            except FileNotFoundError:
                continue  # taken away between listing and reading: nothing to journal
            except OSError as exc:
                raise TransportError(self.endpoint, f"cannot read {path}: {exc}") from exc
            message = Message(body=body, endpoint=self.endpoint, name=entry.name)
            received.append(Inbound(message, _FileAcknowledgement(self.endpoint, path, self.settings.folder)))
        return received


class LocalOutbound(Lifecycle):
    def __init__(self, settings: LocalSettings):
        self.settings = settings
        self.endpoint = settings.endpoint
        self.inbox = settings.folder / "InBox"

    def connect(self) -> None:
        try:
            self.inbox.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(self.endpoint, f"cannot create {self.inbox}: {exc}") from exc

    def send(self, outgoing: Outgoing) -> None:
        final = self.inbox / outgoing.name
        partial = self.inbox / f".{outgoing.name}.part"
        try:
            with open(partial, "wb") as handle:
                handle.write(outgoing.body)
                if self.settings.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            if partial.stat().st_size != len(outgoing.body):
                raise TransportError(self.endpoint, f"short write of {outgoing.name}")
            os.replace(partial, final)
        except OSError as exc:
            raise TransportError(self.endpoint, f"cannot write {final}: {exc}") from exc
