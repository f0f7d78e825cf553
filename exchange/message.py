"""The data types that cross the line between adapters and the core.

An inbound adapter hands the core ``Inbound`` pairs: a frozen ``Message`` (the
bytes and where they came from) and an ``Acknowledgement`` that settles the
source once the journal holds the document. The core hands an outbound adapter
an ``Outgoing``. Adapters know these types and nothing else of the core;
the core never sees a file handle, a channel or an SFTP client.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Mapping, Protocol


@dataclass(frozen=True)
class Message:
    """A document as it arrived, before the hub has read a byte of it.

    ``size`` is the document's real size. An adapter leaves ``body`` empty when
    the size is over the hub's limit, so a huge file is never read into memory.
    """

    body: bytes
    endpoint: str  # the inbound endpoint it arrived on
    name: str  # the source's own name for it: a file name, an AMQP message id
    headers: Mapping[str, str] = field(default_factory=dict)
    size: int = -1

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", printable(self.name))
        if self.size < 0:
            object.__setattr__(self, "size", len(self.body))


def printable(text: str) -> str:
    """A name safe to journal, log and put in XML: undecodable bytes and control characters escaped."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


class Acknowledgement(Protocol):
    """Settles one received message at its source. Called after the journal commit."""

    def ack(self) -> None:
        """The journal holds the document: remove it from the source (SentBox, AMQP ack)."""

    def nack(self, reason: str) -> None:
        """The document was refused: park it at the source (FailBox, dead-letter)."""


@dataclass(frozen=True)
class Inbound:
    message: Message
    acknowledgement: Acknowledgement


@dataclass(frozen=True)
class Outgoing:
    """One document for one destination, ready to be written by an outbound adapter.

    ``name`` is stable for a given delivery, so sending it again after a crash
    overwrites rather than duplicates where the transport allows it.
    """

    delivery_id: str
    document_id: str
    body: bytes
    name: str
    headers: Mapping[str, str] = field(default_factory=dict)


def new_id() -> str:
    """A 32-character hex id that sorts by creation time: 48 bits of milliseconds, 80 random bits."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"
