"""The far side of an endpoint, played by the tests: what a party puts in and finds out, per transport."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from adapters.boxes import BOXES
from exchange.config import Endpoint
from exchange.spec import Table



def endpoint(name: str, transport: dict, *, party: str = "enterprise", ids=("DXPENT0000016069",),
             may_send=("INV101", "SAS121"), may_receive=("INV201", "SAS221")) -> Endpoint:
    return Endpoint(name=name, file=f"{name}.toml", party=party, description="", contact="test", dialect="enterprise",
                    ids=tuple(ids), may_send=tuple(may_send), may_receive=tuple(may_receive), declares_for=None,
                    transport_kind=transport["kind"], transport=Table(dict(transport), f"{name}.toml", "transport."))


class FolderParty:
    """A party whose folders the hub reaches locally or over SFTP (the test server is on this machine)."""

    def __init__(self, folder: Path):
        self.folder = folder
        for box in BOXES:
            (folder / box).mkdir(parents=True, exist_ok=True)

    def put(self, name: str, body: bytes) -> None:
        partial = self.folder / "OutBox" / f".{name}.part"
        partial.write_bytes(body)
        os.replace(partial, self.folder / "OutBox" / name)

    def delivered(self) -> list[tuple[str, bytes]]:
        return sorted((p.name, p.read_bytes()) for p in (self.folder / "InBox").iterdir()
                      if not p.name.startswith("."))

    def names(self, box: str) -> list[str]:
        return sorted(p.name for p in (self.folder / box).iterdir() if not p.name.startswith("."))

    def parked(self) -> list[str]:
        return self.names("FailBox")

    def settled(self) -> list[str]:
        return self.names("SentBox")


class AmqpParty:
    def __init__(self, broker, name: str):
        self.broker, self.name = broker, name

    def put(self, name: str, body: bytes) -> None:
        self.broker.publish(self.name, body, message_id=name)

    def delivered(self) -> list[tuple[str, bytes]]:
        return sorted((properties.message_id, body)
                      for properties, body in self.broker.take_all(self.broker.send_queue(self.name)))

    def parked(self) -> list[str]:
        return sorted(properties.message_id
                      for properties, _ in self.broker.take_all(self.broker.receive_queue(self.name) + ".dead"))


def local_transport(data_dir: Path, name: str) -> tuple[dict, FolderParty]:
    return {"kind": "local", "folder": name}, FolderParty(data_dir / name)


def sftp_transport(sshd, name: str, **extra) -> tuple[dict, FolderParty]:
    folder = sshd.root / f"{name}-{uuid.uuid4().hex[:8]}"
    party = FolderParty(folder)
    transport = {"kind": "sftp", "host": "127.0.0.1", "port": sshd.port, "username": sshd.user,
                 "private_key_file": str(sshd.client_key), "host_key_sha256": sshd.host_key_sha256,
                 "folder": str(folder), "settle_seconds": 0, "timeout": 5, **extra}
    return transport, party


def amqp_transport(broker, name: str, **extra) -> tuple[dict, AmqpParty]:
    return broker.transport(name, **extra), AmqpParty(broker, name)
