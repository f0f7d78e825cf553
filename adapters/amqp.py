"""AMQP 0-9-1 over RabbitMQ (pika): how customs, the zone system and the agencies talk to the hub.

Endpoint settings (``[transport]`` with ``kind = "amqp"``)::

    host = "127.0.0.1"               port = 5672            virtual_host = "/"
    username = "hub"                 password_file = "..." (or password_env = "...")
    receive_queue = "customs.to-hub"        # the party publishes here, the hub consumes
    send_exchange = "hub.to-customs"        # the hub publishes here (direct exchange) ...
    send_routing_key = "customs"            # ... with this key ...
    send_queue = "customs.from-hub"         # ... into this queue, which the party consumes
    prefetch = 200                          # unacknowledged messages the broker hands the hub at once
    delivery_limit = 1000                   # a backstop: redeliveries before the broker dead-letters a
                                            # message (prefetched but unprocessed ones count too)
    tls = false                             # true: AMQPS, the broker's certificate verified
    ca_file = ""                            # the CA bundle for that check (default: the system's)
    declare = true                          # declare the topology (false: check it exists, passively)
    confirm_timeout = 30                    # seconds to wait for the broker's publisher confirms

Topology declared by the hub (``declare = true``): ``receive_queue`` and
``send_queue`` as durable quorum queues whose dead letters go to the exchange
``<queue>.dlx`` and from there to the queue ``<queue>.dead``; ``send_exchange``
durable, direct, bound to ``send_queue``.

Inbound (the engine's thread, a BlockingConnection): a consumer with a prefetch
window fills a buffer; ``receive`` hands out what is buffered. A message is
acknowledged only when the journal holds its document; a refused one is
rejected without requeue, so it goes to ``<receive_queue>.dead`` (journaled
first, answered, never redelivered forever). After a lost connection the
adapter reconnects with backoff and consumes again; messages it had not
acknowledged come back from the broker and are recognised as duplicates.

Outbound (the endpoint's delivery thread, a SelectConnection): persistent
messages, ``mandatory`` so an unroutable one fails, and publisher confirms
pipelined: a batch is published at once and settled by the broker's
(multiple) acks, not one round trip per message. Each message carries
``message_id`` = the hub's delivery id, stable across retries, and the headers
``document-id``, ``message-type``, ``correlation-id`` and ``sender``.
"""

from __future__ import annotations

import collections
import ssl
import time
from dataclasses import dataclass

import pika
import pika.exceptions
from pika.spec import Basic, BasicProperties

from exchange.errors import TransportError
from exchange.message import Inbound, Message, Outgoing
from exchange.spec import Table

from .base import Backoff, Lifecycle
from exchange.secrets import Secret, secret


@dataclass
class AmqpSettings:
    endpoint: str
    host: str
    port: int
    virtual_host: str
    username: str
    password: Secret
    receive_queue: str
    send_exchange: str
    send_routing_key: str
    send_queue: str
    prefetch: int
    delivery_limit: int
    declare: bool
    confirm_timeout: float
    tls: bool
    ca_file: str
    max_bytes: int

    @classmethod
    def read(cls, endpoint: str, transport: Table, max_bytes: int) -> "AmqpSettings":
        settings = cls(
            endpoint=endpoint,
            host=transport.str("host", "127.0.0.1"),
            port=transport.int("port", 5672, minimum=1),
            virtual_host=transport.str("virtual_host", "/"),
            username=transport.str("username"),
            password=secret(transport, "password", endpoint),
            receive_queue=transport.str("receive_queue", ""),
            send_exchange=transport.str("send_exchange"),
            send_routing_key=transport.str("send_routing_key", endpoint),
            send_queue=transport.str("send_queue", ""),
            prefetch=transport.int("prefetch", 200, minimum=1),
            delivery_limit=transport.int("delivery_limit", 1000, minimum=1),
            declare=transport.bool("declare", True),
            confirm_timeout=transport.float("confirm_timeout", 30.0),
            tls=transport.bool("tls", False),
            ca_file=transport.str("ca_file", ""),
            max_bytes=max_bytes,
        )
        transport.str("kind")
        transport.done()
        return settings

    @property
    def address(self) -> str:
        return f"amqp://{self.host}:{self.port}{self.virtual_host}#{self.receive_queue}"

    def parameters(self) -> pika.ConnectionParameters:
        ssl_options = None
        if self.tls:  # the broker's certificate is verified against ca_file (or the system's CAs)
            context = ssl.create_default_context(cafile=self.ca_file or None)
            ssl_options = pika.SSLOptions(context, server_hostname=self.host)
        return pika.ConnectionParameters(
            host=self.host, port=self.port, virtual_host=self.virtual_host,
            credentials=pika.PlainCredentials(self.username, self.password.reveal()),
            heartbeat=30, blocked_connection_timeout=60, connection_attempts=1, socket_timeout=5,
            ssl_options=ssl_options,
            client_properties={"connection_name": f"customs-hub {self.endpoint}"},
        )


def _queue_arguments(queue: str, delivery_limit: int) -> dict:
    return {"x-queue-type": "quorum", "x-dead-letter-exchange": f"{queue}.dlx",
            "x-delivery-limit": delivery_limit}


def declare_topology(channel, settings: AmqpSettings) -> None:
    """Declare (or, with ``declare = false``, passively check) what this endpoint uses."""
    passive = not settings.declare
    for queue in (settings.receive_queue, settings.send_queue):
        if not queue:
            continue
        if passive:  # a refused message must be parked, not dropped: its dead-letter exchange must exist
            channel.exchange_declare(f"{queue}.dlx", passive=True)
        else:
            channel.exchange_declare(f"{queue}.dlx", exchange_type="fanout", durable=True)
            channel.queue_declare(f"{queue}.dead", durable=True, arguments={"x-queue-type": "quorum"})
            channel.queue_bind(f"{queue}.dead", f"{queue}.dlx")
        channel.queue_declare(queue, durable=True, passive=passive,
                              arguments=None if passive else _queue_arguments(queue, settings.delivery_limit))
    channel.exchange_declare(settings.send_exchange, exchange_type="direct", durable=True, passive=passive)
    if settings.send_queue and not passive:
        channel.queue_bind(settings.send_queue, settings.send_exchange, routing_key=settings.send_routing_key)


def _failure(settings: AmqpSettings, what: str, exc: BaseException) -> TransportError:
    detail = str(exc) or type(exc).__name__
    return TransportError(settings.endpoint, f"AMQP {settings.host}:{settings.port}: {what}: {detail}")


class _Delivery:
    """Acknowledgement of one consumed message, valid only on the connection that got it."""

    def __init__(self, adapter: "AmqpInbound", generation: int, tag: int):
        self.adapter, self.generation, self.tag = adapter, generation, tag

    def ack(self) -> None:
        self.adapter._settle(self, requeue=None)

    def nack(self, reason: str) -> None:
        self.adapter._settle(self, requeue=False)  # to the dead-letter queue, never redelivered forever


class AmqpInbound(Lifecycle):
    def __init__(self, settings: AmqpSettings):
        self.settings = settings
        self.endpoint = settings.endpoint
        self.address = settings.address
        self._connection = None
        self._channel = None
        self._generation = 0  # bumped on every (re)connection: older delivery tags are void
        self._buffer: collections.deque = collections.deque()
        self._backoff = Backoff()
        self._cancelled = False

    def connect(self) -> None:
        if not self.settings.receive_queue:
            return  # an endpoint that only receives from the hub
        try:
            self._connection = pika.BlockingConnection(self.settings.parameters())
            self._channel = self._connection.channel()
            declare_topology(self._channel, self.settings)
            self._channel.basic_qos(prefetch_count=self.settings.prefetch)
            self._channel.add_on_cancel_callback(self._on_cancelled)
            self._channel.basic_consume(self.settings.receive_queue, self._on_message)
        except Exception as exc:  # noqa: BLE001 - any library error means "cannot consume"
            self._drop()
            raise _failure(self.settings, f"cannot consume from {self.settings.receive_queue}", exc) from exc
        self._generation += 1
        self._backoff.succeeded()
        self._cancelled = False

    def _on_cancelled(self, _frame) -> None:
        # The broker cancelled the consumer (queue deleted, node down): consume again from scratch.
        self._cancelled = True

    def _on_message(self, channel, method, properties: BasicProperties, body: bytes) -> None:
        self._buffer.append((self._generation, method.delivery_tag, properties, body))

    def receive(self, max_count: int) -> list[Inbound]:
        if not self.settings.receive_queue:
            return []
        if self._cancelled or self._channel is None or not self._channel.is_open:
            self._drop()
        if self._connection is None or not self._connection.is_open:
            if not self._backoff.ready():
                return []
            self._drop()
            try:
                self.connect()
            except TransportError:
                self._backoff.failed()
                raise
        try:
            self._connection.process_data_events(time_limit=0)
        except Exception as exc:  # noqa: BLE001 - any library error means the connection is gone
            self._drop()
            raise _failure(self.settings, "connection lost while consuming", exc) from exc
        if self._cancelled:
            self._drop()
            raise TransportError(self.endpoint, f"AMQP {self.settings.host}:{self.settings.port}: the broker "
                                                f"cancelled the consumer of {self.settings.receive_queue}; "
                                                "consuming again")
        received = []
        while self._buffer and len(received) < max_count:
            generation, tag, properties, body = self._buffer.popleft()
            if generation != self._generation:
                continue  # from a dead connection: the broker delivers it again
            name = properties.message_id or f"amqp-{self.settings.receive_queue}-{tag}"
            headers = {str(k): str(v) for k, v in (properties.headers or {}).items()}
            size = len(body)
            if size > self.settings.max_bytes:
                body = b""  # refused on its size; the dead-letter queue keeps the bytes
            received.append(Inbound(Message(body=body, endpoint=self.endpoint, name=name, headers=headers,
                                            size=size), _Delivery(self, generation, tag)))
        return received

    def _settle(self, delivery: _Delivery, requeue: bool | None) -> None:
        if delivery.generation != self._generation or self._channel is None:
            raise TransportError(self.endpoint, "the connection that delivered this message is gone; "
                                                "the broker delivers it again")
        try:
            if requeue is None:
                self._channel.basic_ack(delivery.tag)
            else:
                self._channel.basic_nack(delivery.tag, requeue=requeue)
        except Exception as exc:  # noqa: BLE001 - any library error means the connection is gone
            self._drop()
            raise _failure(self.settings, "cannot settle a message", exc) from exc

    def _drop(self) -> None:
        self._buffer.clear()
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail; it is gone either way
                pass

    def close(self) -> None:
        self._drop()


class AmqpOutbound(Lifecycle):
    """Publishes from one delivery thread, with pipelined publisher confirms."""

    def __init__(self, settings: AmqpSettings):
        self.settings = settings
        self.endpoint = settings.endpoint
        self._connection: pika.SelectConnection | None = None
        self._channel = None
        self._ready = False
        self._error: str | None = None
        self._until = None  # the condition the io loop is running for
        self._next_tag = 1
        self._waiting: dict[int, str] = {}  # delivery tag -> delivery id, not yet confirmed
        self._outcome: dict[str, str | None] = {}
        self._backoff = Backoff()

    # connect() is deferred to the delivery thread: a SelectConnection belongs to the thread running it.

    def send(self, outgoing: Outgoing) -> None:
        error = self.send_many([outgoing])[outgoing.delivery_id]
        if error:
            raise TransportError(self.endpoint, error)

    def send_many(self, batch: list[Outgoing]) -> dict[str, str | None]:
        """Publish a batch and wait for the broker's confirms: delivery id -> None (confirmed) or why not."""
        try:
            self._ensure_connected()
        except TransportError as exc:
            return {outgoing.delivery_id: exc.reason for outgoing in batch}
        self._outcome = {}
        for outgoing in batch:
            properties = BasicProperties(
                delivery_mode=2, content_type="application/xml", message_id=outgoing.delivery_id,
                correlation_id=outgoing.headers.get("message_id") or outgoing.document_id,
                timestamp=int(time.time()), app_id="customs-hub",
                headers={"document-id": outgoing.document_id,
                         "message-type": outgoing.headers.get("message_type", ""),
                         "correlation-id": outgoing.headers.get("message_id", ""),
                         "sender": outgoing.headers.get("sender", ""),
                         "file-name": outgoing.name},
            )
            try:
                self._channel.basic_publish(self.settings.send_exchange, self.settings.send_routing_key,
                                            outgoing.body, properties, mandatory=True)
            except Exception as exc:  # noqa: BLE001 - pika raises various errors on a closing channel
                self._outcome[outgoing.delivery_id] = f"publish failed: {exc}"
                continue
            self._waiting[self._next_tag] = outgoing.delivery_id
            self._next_tag += 1
        self._run_until(lambda: not self._waiting, self.settings.confirm_timeout)
        for delivery_id in list(self._waiting.values()):
            self._outcome[delivery_id] = self._error or "no publisher confirm within the timeout"
        if self._waiting:
            self._waiting.clear()
            self._reset()  # tags are no longer trustworthy on this channel
        return {outgoing.delivery_id: self._outcome.get(outgoing.delivery_id) for outgoing in batch}

    def idle(self) -> None:
        """Between batches: let the io loop answer heartbeats, so the connection is alive next time."""
        if self._ready and self._connection is not None and self._connection.is_open:
            self._run_until(lambda: False, 0.05)

    # -- the io loop ---------------------------------------------------------

    def _run_until(self, condition, timeout: float) -> None:
        if condition():
            return
        self._until = condition
        timer = self._connection.ioloop.call_later(timeout, self._connection.ioloop.stop)
        self._connection.ioloop.start()
        self._connection.ioloop.remove_timeout(timer)
        self._until = None

    def _wake(self) -> None:
        if self._until is not None and self._until():
            self._connection.ioloop.stop()

    def _ensure_connected(self) -> None:
        if self._ready and self._connection is not None and self._connection.is_open:
            return
        if not self._backoff.ready():
            raise TransportError(self.endpoint, f"AMQP {self.settings.host}:{self.settings.port}: "
                                                f"not connected ({self._error or 'waiting to reconnect'})")
        self._reset()
        self._error = None
        try:
            self._connection = pika.SelectConnection(
                self.settings.parameters(), on_open_callback=self._on_open,
                on_open_error_callback=self._on_open_error, on_close_callback=self._on_closed)
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._error = str(exc)
        if self._connection is not None:
            self._run_until(lambda: self._ready or self._error is not None, 15.0)
        if not self._ready:
            reason = self._error or "no answer from the broker"
            self._reset()
            self._backoff.failed()
            raise TransportError(self.endpoint, f"AMQP {self.settings.host}:{self.settings.port}: "
                                                f"cannot publish to {self.settings.send_exchange}: {reason}")
        self._backoff.succeeded()

    def _on_open(self, connection) -> None:
        connection.channel(on_open_callback=self._on_channel)

    def _on_open_error(self, connection, error) -> None:
        self._error = f"connection failed: {error}"
        self._wake()

    def _lost(self, error: str) -> None:
        """The channel or connection went away: whatever waits for a confirm has failed."""
        self._error = error
        self._ready = False
        for delivery_id in self._waiting.values():
            self._outcome[delivery_id] = error
        self._waiting.clear()

    def _on_closed(self, connection, reason) -> None:
        self._lost(f"connection closed: {reason}")
        self._wake()
        if self._until is None:
            return
        connection.ioloop.stop()

    def _on_channel(self, channel) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        if self.settings.declare:
            self._declare_next(list(self._topology_steps()))
        else:
            channel.exchange_declare(self.settings.send_exchange, exchange_type="direct", durable=True,
                                     passive=True, callback=lambda _: self._confirm_mode())

    def _topology_steps(self):
        settings = self.settings
        queue = settings.send_queue
        if queue:
            yield lambda done: self._channel.exchange_declare(f"{queue}.dlx", exchange_type="fanout",
                                                              durable=True, callback=done)
            yield lambda done: self._channel.queue_declare(f"{queue}.dead", durable=True,
                                                           arguments={"x-queue-type": "quorum"}, callback=done)
            yield lambda done: self._channel.queue_bind(f"{queue}.dead", f"{queue}.dlx", callback=done)
            yield lambda done: self._channel.queue_declare(
                queue, durable=True, arguments=_queue_arguments(queue, settings.delivery_limit), callback=done)
        yield lambda done: self._channel.exchange_declare(settings.send_exchange, exchange_type="direct",
                                                          durable=True, callback=done)
        if queue:
            yield lambda done: self._channel.queue_bind(queue, settings.send_exchange,
                                                        routing_key=settings.send_routing_key, callback=done)

    def _declare_next(self, steps: list) -> None:
        if not steps:
            self._confirm_mode()
            return
        steps[0](lambda _frame: self._declare_next(steps[1:]))

    def _confirm_mode(self) -> None:
        self._channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=self._on_confirm_ok)

    def _on_confirm_ok(self, _frame) -> None:
        self._next_tag = 1
        self._ready = True
        self._wake()

    def _on_channel_closed(self, channel, reason) -> None:
        self._lost(f"channel closed: {reason}")
        if self._connection is not None and self._connection.is_open:
            self._connection.close()
        self._wake()

    def _on_return(self, channel, method, properties, body) -> None:
        # Comes before the confirm of the same message: remember why it failed.
        self._outcome[properties.message_id] = (
            f"unroutable: exchange {method.exchange} has no queue for routing key {method.routing_key} "
            f"({method.reply_text})")

    def _on_confirm(self, frame) -> None:
        method = frame.method
        tags = [t for t in self._waiting if t <= method.delivery_tag] if method.multiple else [method.delivery_tag]
        refused = isinstance(method, Basic.Nack)
        for tag in tags:
            delivery_id = self._waiting.pop(tag, None)
            if delivery_id is None:
                continue
            if refused:
                self._outcome[delivery_id] = "the broker refused the message (nack)"
            else:
                self._outcome.setdefault(delivery_id, None)  # a return recorded before keeps its reason
        self._wake()

    def _reset(self) -> None:
        connection, self._connection, self._channel, self._ready = self._connection, None, None, False
        self._waiting.clear()
        if connection is None:
            return
        try:
            if connection.is_open:
                connection.close()
                self._run_closing(connection)
        except Exception:  # noqa: BLE001 - a broken connection is gone either way
            pass
        finally:
            connection.ioloop.close()  # its wake-up socket pair

    def _run_closing(self, connection) -> None:
        timer = connection.ioloop.call_later(2.0, connection.ioloop.stop)
        self._until = lambda: connection.is_closed
        self._connection = connection
        try:
            connection.ioloop.start()
        finally:
            connection.ioloop.remove_timeout(timer)
            self._until = None
            self._connection = None

    def close(self) -> None:
        self._reset()
