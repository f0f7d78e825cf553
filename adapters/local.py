"""Local folders, laid out as the customs client lays them out.

    <folder>/OutBox    the party drops documents here; the hub picks them up
    <folder>/SentBox   the hub moves a picked-up file here once the journal holds it
    <folder>/FailBox   ... or here when it was refused (the answer goes to InBox)
    <folder>/InBox     the hub delivers documents and receipts here

Endpoint settings (``[transport]`` with ``kind = "local"``):

    folder         the party's folder, relative to the hub's data_dir and inside it
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
from .boxes import BOXES, check_delivery_name, in_progress, numbered

class LocalSettings:
    def __init__(self, endpoint: str, transport: Table, data_dir: Path, max_bytes: int):
        self.endpoint = endpoint
        data_dir = data_dir.resolve()
        self.folder = (data_dir / transport.str("folder", endpoint)).resolve()
        if not self.folder.is_relative_to(data_dir) or self.folder == data_dir:
            raise transport.error("folder", f"must be a folder inside the hub's data_dir {data_dir}")
        self.settle_seconds = transport.float("settle_seconds", 0.0)
        self.fsync = transport.bool("fsync", True)
        self.max_bytes = max_bytes  # larger files are not read: the hub refuses them on their size
        transport.str("kind")
        transport.done()


def _move_aside(source: str, box: str) -> str:
    """Rename into ``box`` without overwriting an earlier file of the same name."""
    name = os.path.basename(source)
    target = os.path.join(box, name)
    counter = 1
    while os.path.exists(target):
        target = os.path.join(box, numbered(name, counter))
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
        self.address = str(settings.folder)
        self._folder = str(settings.folder)
        self._backlog: deque[str] = deque()  # paths listed but not yet handed out, oldest first

    def connect(self) -> None:
        try:
            for box in BOXES:
                (self.settings.folder / box).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TransportError(self.endpoint, f"cannot create folders under {self.settings.folder}: {exc}") from exc

    def _list(self) -> list[str]:
        """Complete regular files in OutBox (never symbolic links), oldest first."""
        stamped = []
        try:
            for entry in os.scandir(self.outbox):
                if in_progress(entry.name) or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    stamped.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.name, entry.path))
                except FileNotFoundError:
                    continue  # taken away while listing
        except OSError as exc:
            raise TransportError(self.endpoint, f"cannot list {self.outbox}: {exc}") from exc
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
                descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except FileNotFoundError:
                continue  # taken away between listing and reading: nothing to journal
            except OSError as exc:
                raise TransportError(self.endpoint, f"cannot open {path}: {exc}") from exc
            try:
                with os.fdopen(descriptor, "rb") as handle:
                    size = os.fstat(handle.fileno()).st_size
                    body = handle.read() if size <= self.settings.max_bytes else b""
            except OSError as exc:
                raise TransportError(self.endpoint, f"cannot read {path}: {exc}") from exc
            message = Message(body=body, endpoint=self.endpoint, name=os.path.basename(path), size=size)
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
        name = check_delivery_name(self.endpoint, outgoing.name)
        final = self.inbox / name
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
