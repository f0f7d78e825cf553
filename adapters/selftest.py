"""`hub endpoint check NAME`: prove, step by step, that an endpoint's connection works before it goes live.

Each step has an outcome (ok, failed, skipped) and an explanation a partner's administrator
can act on. A failed step skips those that depend on it. Nothing is sent to the partner:
the SFTP probe is a hidden file written, renamed and deleted in the partner's InBox; the
AMQP probe goes through the endpoint's exchange to a temporary queue of the hub's own and
is consumed back.
"""

from __future__ import annotations

import socket
import ssl
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from exchange.config import Endpoint
from exchange.errors import ConfigError, HubError

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass
class Step:
    name: str
    outcome: str
    explanation: str
    ms: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


class _Run:
    def __init__(self):
        self.steps: list[Step] = []
        self.blocked = ""  # the step that failed, which later ones depend on

    def step(self, name: str, action, needs: bool = True) -> object:
        """Run ``action`` (returning its explanation, or (explanation, value)) unless an earlier step failed."""
        if needs and self.blocked:
            self.steps.append(Step(name, SKIPPED, f"not tried: {self.blocked} failed"))
            return None
        started = time.perf_counter()
        try:
            result = action()
        except Exception as exc:  # noqa: BLE001 - every failure is this step's outcome, explained
            reason = exc.reason if isinstance(exc, HubError) else f"{type(exc).__name__}: {exc}"
            self.steps.append(Step(name, FAILED, reason, round((time.perf_counter() - started) * 1000, 1)))
            self.blocked = self.blocked or name
            return None
        explanation, value = result if isinstance(result, tuple) else (result, None)
        self.steps.append(Step(name, OK, explanation, round((time.perf_counter() - started) * 1000, 1)))
        return value

    def skip(self, name: str, why: str) -> None:
        self.steps.append(Step(name, SKIPPED, why))


def fetch_host_key(host: str, port: int, timeout: float = 10.0) -> tuple[str, str]:
    """The SSH server's host key: (key type, SHA256 fingerprint). Nothing is authenticated."""
    import paramiko

    from .sftp import fingerprint

    sock = socket.create_connection((host, port), timeout=timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return key.get_name(), fingerprint(key)
    finally:
        transport.close()


def check(endpoint: Endpoint, catalog, data_dir: Path, limits, canary: tuple[bytes, str, object] | None = None
          ) -> list[Step]:
    """Every step for one endpoint, in order. ``canary``: (document, its name, the pipeline context):
    a test document run through the pure pipeline as if this endpoint sent it; nothing is delivered."""
    import adapters

    run = _Run()

    def config():
        adapters.build(endpoint, data_dir, limits)
        unknown = [t for t in (*endpoint.may_send, *endpoint.may_receive) if t not in catalog.types()
                   and t != "CommonResponeMessage"]
        if unknown:
            raise ConfigError(endpoint.file, "may_send/may_receive", f"types not in the catalog: {', '.join(unknown)}")
        return f"{endpoint.file} is valid: {endpoint.transport_kind} transport, sender ids {', '.join(endpoint.ids)}"

    run.step("the config is valid", config, needs=False)
    if endpoint.transport_kind == "local":
        _check_local(run, endpoint, data_dir, limits)
    elif endpoint.transport_kind == "sftp":
        _check_sftp(run, endpoint, limits)
    elif endpoint.transport_kind == "amqp":
        _check_amqp(run, endpoint, limits)
    run.step("its schemas compile", lambda: (
        f"{len([k for k in catalog.kinds if k.type in (*endpoint.may_send, *endpoint.may_receive)])} catalog "
        f"entries for {', '.join(sorted({*endpoint.may_send, *endpoint.may_receive})) or 'no types'} compiled"),
        needs=False)
    if canary is None:
        run.skip("a canary document through the hub", "not asked for (--canary FILE)")
    else:
        run.step("a canary document through the hub", lambda: _canary(endpoint, *canary), needs=False)
    return run.steps


def _canary(endpoint: Endpoint, data: bytes, name: str, context) -> str:
    """The hub's whole decision on a document from this endpoint (parse, authorize, validate, route,
    convert), made without journal or delivery: what would happen to it once the endpoint is live."""
    from exchange.pipeline import process

    outcome = process(data, endpoint.name, name, context)
    if outcome.error is not None:
        detail = "; ".join(str(issue) for issue in outcome.error.issues[:5])
        raise HubError(f"{name} would be refused ({outcome.error.code}): {outcome.error.reason}"
                       + (f" — {detail}" if detail and detail != outcome.error.reason else ""))
    kind = outcome.kind.label if outcome.kind else "?"
    return (f"{name} ({kind}) would be accepted and go to "
            + ", ".join(f"{c.destination.endpoint}" + (f" via {c.destination.map}" if c.destination.map else "")
                        for c in outcome.copies))


def _network(run: _Run, host: str, port: int, timeout: float) -> None:
    run.step("the name resolves", lambda: f"{host} is {', '.join(sorted({a[4][0] for a in socket.getaddrinfo(host, port)}))}")

    def connect():
        with socket.create_connection((host, port), timeout=timeout):
            return f"TCP {host}:{port} connected within {timeout:g} s"

    run.step("TCP connects", connect)


def _check_local(run: _Run, endpoint: Endpoint, data_dir: Path, limits) -> None:
    from .local import LocalSettings

    settings = LocalSettings(endpoint.name, endpoint.transport, data_dir, limits.max_bytes)
    for name in ("the name resolves", "TCP connects", "the host key or certificate is trusted", "authentication"):
        run.skip(name, "a local folder has no network address")

    def probe():
        inbox = settings.folder / "InBox"
        inbox.mkdir(parents=True, exist_ok=True)
        partial = inbox / f".hub-selftest-{uuid.uuid4().hex}.part"
        partial.write_bytes(b"<probe/>")
        final = partial.with_suffix(".probe")
        partial.rename(final)
        final.unlink()
        return f"wrote, renamed and deleted a probe in {inbox}"

    run.step("write a probe", probe)


def _check_sftp(run: _Run, endpoint: Endpoint, limits) -> None:
    import paramiko

    from .sftp import SftpSettings, _Connection, fingerprint

    def read():
        settings = SftpSettings.read(endpoint.name, endpoint.transport, limits.max_bytes)
        pinned = f"host key pinned as {settings.host_key_sha256}" if settings.host_key_sha256 else \
            f"host keys from {settings.known_hosts}"
        return pinned, settings

    settings = run.step("the transport settings read", read)
    if settings is None:
        return
    connection = _Connection(settings)  # the adapter's own host-key and private-key checks
    _network(run, settings.host, settings.port, settings.timeout)
    state: dict = {}

    def host_key():
        sock = socket.create_connection((settings.host, settings.port), timeout=settings.timeout)
        transport = paramiko.Transport(sock)
        transport.start_client(timeout=settings.timeout)
        state["transport"] = transport
        key = transport.get_remote_server_key()
        connection._check_host_key(key)  # a changed key or another server: do not go live
        return f"the server's key {fingerprint(key)} matches the pin"

    def authenticate():
        state["transport"].auth_publickey(settings.username, connection._private_key())
        state["sftp"] = paramiko.SFTPClient.from_transport(state["transport"])
        return f"{settings.username} signed in with {settings.private_key_file.name}"

    def probe():
        sftp = state["sftp"]
        names = sftp.listdir(settings.folder)
        missing = [box for box in ("OutBox", "InBox", "SentBox", "FailBox") if box not in names]
        if missing:
            raise HubError(f"{settings.folder} lacks {', '.join(missing)}")
        inbox = f"{settings.folder.rstrip('/')}/InBox"
        partial = f"{inbox}/.hub-selftest-{uuid.uuid4().hex}.part"
        with sftp.open(partial, "wb") as handle:
            handle.write(b"<probe/>")
        final = partial[:-5] + ".probe"
        sftp.posix_rename(partial, final)
        sftp.remove(final)
        return f"listed {settings.folder}; wrote, renamed and deleted a probe in {inbox}"

    try:
        run.step("the host key or certificate is trusted", host_key)
        run.step("authentication", authenticate)
        run.step("list, write, rename and delete a probe", probe)
    finally:
        if "transport" in state:
            state["transport"].close()


def _check_amqp(run: _Run, endpoint: Endpoint, limits) -> None:
    import pika

    from .amqp import AmqpSettings

    def read():
        settings = AmqpSettings.read(endpoint.name, endpoint.transport, limits.max_bytes)
        return f"virtual host {settings.virtual_host}, exchange {settings.send_exchange}", settings

    settings = run.step("the transport settings read", read)
    if settings is None:
        return
    _network(run, settings.host, settings.port, 10.0)
    if settings.tls:
        def certificate():
            context = ssl.create_default_context(cafile=settings.ca_file or None)
            with socket.create_connection((settings.host, settings.port), timeout=10) as sock:
                with context.wrap_socket(sock, server_hostname=settings.host) as tls:
                    expires = ssl.cert_time_to_seconds(tls.getpeercert()["notAfter"])
            days = (expires - time.time()) / 86400
            if days < 14:
                raise HubError(f"the broker's certificate expires in {days:.0f} days")
            return f"the broker's certificate is trusted and valid for {days:.0f} more days"

        run.step("the host key or certificate is trusted", certificate)
    else:
        run.skip("the host key or certificate is trusted", "plain AMQP (tls = false): no certificate to check")
    state: dict = {}

    def authenticate():
        state["connection"] = pika.BlockingConnection(settings.parameters())
        state["channel"] = state["connection"].channel()
        return f"{settings.username} opened virtual host {settings.virtual_host}"

    def declare():
        channel = state["channel"]
        channel.exchange_declare(settings.send_exchange, passive=True)
        for queue in (settings.receive_queue, settings.send_queue):
            if queue:
                channel.queue_declare(queue, passive=True)
        return (f"exchange {settings.send_exchange} and queues "
                f"{', '.join(q for q in (settings.receive_queue, settings.send_queue) if q)} exist")

    def probe():
        channel = state["channel"]
        probe_queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        key = f"hub-selftest-{uuid.uuid4().hex}"
        channel.queue_bind(probe_queue, settings.send_exchange, routing_key=key)
        channel.confirm_delivery()
        channel.basic_publish(settings.send_exchange, key, b"<probe/>",
                              pika.BasicProperties(message_id=key, delivery_mode=1), mandatory=True)
        for _ in range(50):
            method, properties, body = channel.basic_get(probe_queue, auto_ack=True)
            if method is not None:
                if properties.message_id != key:
                    raise HubError("consumed another message than the probe")
                return f"published to {settings.send_exchange} with mandatory and a confirm, consumed it back"
            time.sleep(0.05)
        raise HubError("the probe was confirmed but never arrived")

    try:
        run.step("authentication", authenticate)
        run.step("the exchange and queues exist (passive declare)", declare)
        run.step("publish a probe (mandatory, confirmed) and consume it back", probe)
    finally:
        if "connection" in state and state["connection"].is_open:
            state["connection"].close()
