"""The two small interfaces every transport implements.

    InboundAdapter:  connect() / receive(max_count) -> [Inbound(message, acknowledgement)] / close()
    OutboundAdapter: connect() / send(outgoing) / close()

Both are context managers. ``receive`` never blocks for long: it returns what
is waiting now (possibly nothing), so one engine loop can serve many
endpoints. ``send`` returns only once the destination holds the document
(rename done, broker confirmed); otherwise it raises ``TransportError``.
Adapters translate their library's exceptions into ``TransportError`` naming
the endpoint, and know nothing of the core beyond ``exchange.message``.
"""

from __future__ import annotations

import time
from typing import Protocol

from exchange.message import Inbound, Outgoing


class InboundAdapter(Protocol):
    endpoint: str
    address: str  # where it reads from (a folder, a queue, host:port/path): no two endpoints share one

    def connect(self) -> None: ...

    def receive(self, max_count: int) -> list[Inbound]: ...

    def close(self) -> None: ...

    def __enter__(self) -> "InboundAdapter": ...

    def __exit__(self, *exc) -> None: ...


class OutboundAdapter(Protocol):
    endpoint: str

    def connect(self) -> None: ...

    def send(self, outgoing: Outgoing) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> "OutboundAdapter": ...

    def __exit__(self, *exc) -> None: ...


class Lifecycle:
    """connect/close as a context manager, for adapters to inherit."""

    def connect(self) -> None:  # pragma: no cover - trivial default
        pass

    def close(self) -> None:  # pragma: no cover - trivial default
        pass

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Backoff:
    """When to try a broken connection again: 0.5 s, doubling to 30 s, reset by a success."""

    def __init__(self, first: float = 0.5, most: float = 30.0):
        self.first, self.most = first, most
        self._delay, self._next = first, 0.0

    def ready(self) -> bool:
        return time.monotonic() >= self._next

    def failed(self) -> None:
        self._next = time.monotonic() + self._delay
        self._delay = min(self._delay * 2, self.most)

    def succeeded(self) -> None:
        self._delay, self._next = self.first, 0.0
