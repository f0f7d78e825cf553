"""Delivery workers: one thread per destination endpoint, so a slow or broken partner
never holds up the intake or the other partners.

The engine submits ``Outgoing`` documents; each endpoint's worker sends them in
order through that endpoint's outbound adapter (only that thread ever touches
the adapter: pika and paramiko objects are not thread-safe) and reports each
outcome on one results queue. The engine records the outcomes in the journal
from its own thread, in one transaction per poll. Nothing here touches the
journal.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

from .errors import TransportError
from .message import Outgoing

_STOP = object()


@dataclass(frozen=True)
class Result:
    delivery_id: str
    endpoint: str
    error: str | None  # None: the destination holds the document
    seconds: float  # how long the send took


class Deliverer:
    def __init__(self, outbound: dict, queue_limit: int = 1000, stop_timeout: float = 10.0):
        self._outbound = outbound
        # Queues exist from the start, so work submitted before start() waits for its worker.
        self._queues: dict[str, queue.SimpleQueue] = {name: queue.SimpleQueue() for name in outbound}
        self._threads: list[threading.Thread] = []
        self._results: queue.SimpleQueue[Result] = queue.SimpleQueue()
        self._in_flight: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._closing = False
        self._closed: set[str] = set()  # adapters their own worker closed
        self._abandoned: list[threading.Thread] = []
        self.idle_seconds = 10.0  # a worker with nothing to send lets its adapter keep the connection alive
        self.queue_limit = queue_limit  # per endpoint: beyond it, work waits in the journal, not in memory
        self.batch_size = 200  # sends handed at once to an adapter that takes batches
        self.stop_timeout = stop_timeout

    def start(self) -> None:
        if self._threads:
            return
        self._stopping.clear()
        for name, adapter in self._outbound.items():
            thread = threading.Thread(target=self._work, args=(name, adapter, self._queues[name]),
                                      name=f"deliver-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def close(self) -> None:
        """Stop the workers; each closes its own adapter (only its thread may touch it)."""
        self._closing = True
        if self._threads:
            self.stop()
        for name, adapter in self._outbound.items():
            if name not in self._closed:  # never started, or its worker did not finish in time
                if any(thread.name == f"deliver-{name}" and thread.is_alive() for thread in self._abandoned):
                    continue  # still inside a send on its own thread: leave it to that thread
                _close_quietly(adapter)

    def stop(self) -> None:
        """End every worker after its current send. What is still queued is dropped: it is
        PENDING in the journal and is sent again after a restart."""
        if not self._threads:
            return
        self._stopping.set()
        for work in self._queues.values():
            work.put(_STOP)
        deadline = time.monotonic() + self.stop_timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._abandoned = [thread for thread in self._threads if thread.is_alive()]
        self._threads.clear()
        for work in self._queues.values():  # forget what was not sent
            while not work.empty():
                dropped = work.get_nowait()
                if dropped is not _STOP:
                    with self._lock:
                        self._in_flight.discard(dropped.delivery_id)

    def submit(self, endpoint: str, outgoing: Outgoing) -> bool:
        """Queue a send; False when the endpoint's worker already has ``queue_limit`` waiting."""
        work = self._queues.get(endpoint)
        if work is not None and work.qsize() >= self.queue_limit:
            return False
        with self._lock:
            if outgoing.delivery_id in self._in_flight:
                return False
            self._in_flight.add(outgoing.delivery_id)
        if work is None:
            self._results.put(Result(outgoing.delivery_id, endpoint, "no such endpoint is configured", 0.0))
        else:
            work.put(outgoing)
        return True

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._in_flight)

    def results(self, wait: float = 0.0) -> list[Result]:
        """What finished since the last call; waits up to ``wait`` seconds for the first one."""
        finished = []
        try:
            finished.append(self._results.get(timeout=wait) if wait > 0 else self._results.get_nowait())
            while True:
                finished.append(self._results.get_nowait())
        except queue.Empty:
            pass
        with self._lock:
            for result in finished:
                self._in_flight.discard(result.delivery_id)
        return finished

    def _work(self, name: str, adapter, work: queue.SimpleQueue) -> None:
        batched = hasattr(adapter, "send_many")  # e.g. AMQP: publish a batch, then wait for its confirms
        try:
            self._serve(name, adapter, work, batched)
        finally:
            if self._closing:
                _close_quietly(adapter)
                self._closed.add(name)

    def _serve(self, name: str, adapter, work: queue.SimpleQueue, batched: bool) -> None:
        idle = getattr(adapter, "idle", None)  # e.g. AMQP: answer heartbeats between batches
        while not self._stopping.is_set():
            try:
                batch = [work.get(timeout=self.idle_seconds)]
            except queue.Empty:
                if idle is not None:
                    self._guarded(name, idle, [])
                continue
            while batched and len(batch) < self.batch_size:
                try:
                    batch.append(work.get_nowait())
                except queue.Empty:
                    break
            stop = _STOP in batch
            batch = [outgoing for outgoing in batch if outgoing is not _STOP]
            if self._stopping.is_set() or not batch:
                return
            started = time.perf_counter()
            if batched:
                errors = self._guarded(name, lambda: adapter.send_many(batch), batch)
            else:
                errors = {}
                for outgoing in batch:
                    errors.update(self._guarded(name, lambda: adapter.send(outgoing), [outgoing]))
            seconds = (time.perf_counter() - started) / len(batch)
            for outgoing in batch:
                self._results.put(Result(outgoing.delivery_id, name, errors.get(outgoing.delivery_id), seconds))
            if stop:
                return

    @staticmethod
    def _guarded(name: str, send, batch: list[Outgoing]) -> dict[str, str | None]:
        """Run a send; turn any error into a per-delivery failure instead of a dead worker."""
        try:
            result = send()
        except TransportError as exc:
            return {outgoing.delivery_id: exc.reason for outgoing in batch}
        except Exception as exc:  # noqa: BLE001 - an adapter bug fails these deliveries, not the worker
            return {outgoing.delivery_id: f"endpoint {name}: unexpected {type(exc).__name__}: {exc}"
                    for outgoing in batch}
        return result if isinstance(result, dict) else {}


def _close_quietly(adapter) -> None:
    try:
        adapter.close()
    except Exception:  # noqa: BLE001 - closing a broken connection may fail; it is gone either way
        pass
