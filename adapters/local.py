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
from collections import deque
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


def _move_aside(source: str, box: str) -> str:
    """Rename into ``box`` without overwriting an earlier file of the same name."""
    name = os.path.basename(source)
    target = os.path.join(box, name)
    stem, suffix = os.path.splitext(name)
    counter = 1
    while os.path.exists(target):
        target = os.path.join(box, f"{stem}.{counter}{suffix}")
        counter += 1
    os.replace(source, target)
    return target


class _FileAcknowledgement:
    def __init__(self, endpoint: str, path: str, folder: str):
        self.endpoint, self.path, self.folder = endpoint, path, folder

    def ack(self) -> None:
        self._move("SentBox")

    def nack(self, reason: str) -> None:
        self._move("FailBox")

    def _move(self, box: str) -> None:
        try:
            _move_aside(self.path, os.path.join(self.folder, box))
        except OSError as exc:
            raise TransportError(self.endpoint, f"could not move {os.path.basename(self.path)} to {box}: {exc}") from exc


class LocalInbound(Lifecycle):
    def __init__(self, settings: LocalSettings):
        self.settings = settings
        self.endpoint = settings.endpoint
        self.outbox = settings.folder / "OutBox"
        self._folder = str(settings.folder)
        self._backlog: deque[str] = deque()  # paths listed but not yet handed out, oldest first

    def connect(self) -> None:
        try:
            for box in BOXES:
                (self.settings.folder / box).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(self.endpoint, f"cannot create folders under {self.settings.folder}: {exc}") from exc

    def _list(self) -> list[str]:
        """Complete files in OutBox, oldest first."""
        try:
            entries = [e for e in os.scandir(self.outbox) if not _ignored(e.name) and e.is_file()]
        except OSError as exc:
            raise TransportError(self.endpoint, f"cannot list {self.outbox}: {exc}") from exc
        stamped = [(e.stat().st_mtime_ns, e.name, e.path) for e in entries]
        if self.settings.settle_seconds:
            newest = time.time_ns() - int(self.settings.settle_seconds * 1e9)
            stamped = [entry for entry in stamped if entry[0] <= newest]
        stamped.sort()
        return [path for _, _, path in stamped]

    def receive(self, max_count: int) -> list[Inbound]:
        # A large backlog is listed once and handed out batch by batch, not listed again per batch.
        if not self._backlog:
            self._backlog.extend(self._list())
        received = []
        while self._backlog and len(received) < max_count:
            path = self._backlog.popleft()
            try:
                with open(path, "rb") as handle:
                    body = handle.read()
            except FileNotFoundError:
                continue  # taken away between listing and reading: nothing to journal
            except OSError as exc:
                raise TransportError(self.endpoint, f"cannot read {path}: {exc}") from exc
            message = Message(body=body, endpoint=self.endpoint, name=os.path.basename(path))
            received.append(Inbound(message, _FileAcknowledgement(self.endpoint, path, self._folder)))
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
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            try:
                view = memoryview(outgoing.body)
                while view:  # os.write may write less than asked
                    view = view[os.write(descriptor, view):]
                if self.settings.fsync:
                    os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.replace(partial, final)
        except OSError as exc:
            raise TransportError(self.endpoint, f"cannot write {final}: {exc}") from exc
