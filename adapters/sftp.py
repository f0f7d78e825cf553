"""SFTP over SSH (paramiko): how enterprises' customs clients exchange files with the hub.

The party's SFTP server holds the same four folders as a local endpoint::

    <folder>/OutBox   the party's client writes documents here; the hub picks them up
    <folder>/SentBox  the hub moves a picked-up file here once the journal holds it
    <folder>/FailBox  ... or here when it was refused; the answer goes to InBox
    <folder>/InBox    the hub delivers here: <name>.part is written, its size checked, then renamed

Endpoint settings (``[transport]`` with ``kind = "sftp"``)::

    host = "sftp.example.cn"      port = 22          username = "hub"
    private_key_file = "/etc/hub/keys/etps-shenyang"   # key authentication only, never a password
    private_key_passphrase_env = "..."                  # optional (or _file)
    host_key_sha256 = "SHA256:..."                      # the pinned host key ...
    known_hosts = "/etc/hub/known_hosts"                # ... or a known_hosts file; one is required
    folder = "/customs"                                 # where the four folders are
    settle_seconds = 2       # a file must stay the same size and time this long before it is read
    done_marker = ""         # e.g. ".done": read <name> only once <name>.done exists
    timeout = 10             # seconds for connecting and for each request

An unknown or changed host key is refused before authenticating: the hub never
sends a key or reads a file from a server it cannot identify. TCP_NODELAY is
set on the socket (reads are about 3x slower without it). Each adapter keeps
its connection and reconnects, with backoff, after a failure.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import posixpath
import socket
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import paramiko

from exchange.errors import TransportError
from exchange.message import Inbound, Message, Outgoing
from exchange.spec import Table

from .base import Backoff, Lifecycle
from .boxes import check_delivery_name, in_progress, numbered
from exchange.secrets import Secret, secret



def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA-256 fingerprint of a public key, as `ssh-keygen -lf` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


@dataclass
class SftpSettings:
    endpoint: str
    host: str
    port: int
    username: str
    private_key_file: Path
    passphrase: Secret | None
    host_key_sha256: str
    known_hosts: Path | None
    folder: str
    settle_seconds: float
    done_marker: str
    timeout: float
    max_bytes: int

    @classmethod
    def read(cls, endpoint: str, transport: Table, max_bytes: int) -> "SftpSettings":
        known_hosts = transport.str("known_hosts", "")
        settings = cls(
            endpoint=endpoint,
            host=transport.str("host"),
            port=transport.int("port", 22, minimum=1),
            username=transport.str("username"),
            private_key_file=Path(transport.str("private_key_file")).expanduser(),
            passphrase=secret(transport, "private_key_passphrase", endpoint, required=False),
            host_key_sha256=transport.str("host_key_sha256", ""),
            known_hosts=Path(known_hosts).expanduser() if known_hosts else None,
            folder=transport.str("folder", "/"),
            settle_seconds=transport.float("settle_seconds", 2.0),
            done_marker=transport.str("done_marker", ""),
            timeout=transport.float("timeout", 10.0),
            max_bytes=max_bytes,
        )
        if "password" in transport.data or "password_file" in transport.data or "password_env" in transport.data:
            raise transport.error("password", "SFTP endpoints authenticate with keys only (private_key_file)")
        if not settings.host_key_sha256 and settings.known_hosts is None:
            raise transport.error("host_key_sha256", "pin the server's host key: host_key_sha256 or known_hosts")
        if settings.host_key_sha256 and not settings.host_key_sha256.startswith("SHA256:"):
            raise transport.error("host_key_sha256", "expected an OpenSSH fingerprint like SHA256:abc...")
        transport.str("kind")
        transport.done()
        return settings

    @property
    def address(self) -> str:
        return f"sftp://{self.username}@{self.host}:{self.port}{self.folder}"

    def box(self, name: str) -> str:
        return posixpath.join(self.folder, name)


class _Connection:
    """One SSH connection with one SFTP session, opened on demand and reopened after failures."""

    def __init__(self, settings: SftpSettings):
        self.settings = settings
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._backoff = Backoff()

    def failure(self, what: str, exc: BaseException) -> TransportError:
        detail = str(exc) or type(exc).__name__
        return TransportError(self.settings.endpoint,
                              f"SFTP {self.settings.host}:{self.settings.port}: {what}: {detail}")

    def client(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._transport is not None and self._transport.is_active():
            return self._sftp
        self.drop()
        if not self._backoff.ready():
            raise TransportError(self.settings.endpoint, f"SFTP {self.settings.host}:{self.settings.port}: "
                                                         "not connected, waiting to reconnect")
        try:
            self._open()
        except TransportError:
            self.drop()
            self._backoff.failed()
            raise
        self._backoff.succeeded()
        return self._sftp

    def _open(self) -> None:
        settings = self.settings
        try:
            sock = socket.create_connection((settings.host, settings.port), timeout=settings.timeout)
        except OSError as exc:
            raise self.failure("cannot connect", exc) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._transport = paramiko.Transport(sock)
            self._transport.start_client(timeout=settings.timeout)
            self._check_host_key(self._transport.get_remote_server_key())
            key = self._private_key()
            self._transport.auth_publickey(settings.username, key)
            self._transport.set_keepalive(15)
            # Every step bounded by the timeout: a server that authenticates and then stops
            # answering must not hold the engine's thread (SFTPClient.from_transport would wait
            # for the version reply without a limit).
            channel = self._transport.open_session(timeout=settings.timeout)
            channel.settimeout(settings.timeout)
            channel.invoke_subsystem("sftp")
            self._sftp = paramiko.SFTPClient(channel)
        except TransportError:
            raise
        except Exception as exc:  # noqa: BLE001 - paramiko raises SSHException, SFTPError, OSError, EOFError,
            # AssertionError (a malformed known_hosts line), socket.timeout ...: all mean "cannot connect"
            raise self.failure("cannot open the SFTP session", exc) from exc

    def _check_host_key(self, key: paramiko.PKey) -> None:
        settings = self.settings
        offered = fingerprint(key)
        if settings.host_key_sha256:
            if offered != settings.host_key_sha256:
                raise TransportError(settings.endpoint, f"SFTP {settings.host}:{settings.port}: host key "
                                     f"{offered} does not match the pinned {settings.host_key_sha256}; "
                                     "refusing to connect")
            return
        try:
            known = paramiko.HostKeys(str(settings.known_hosts))
        except OSError as exc:
            raise self.failure(f"cannot read known_hosts {settings.known_hosts}", exc) from exc
        name = settings.host if settings.port == 22 else f"[{settings.host}]:{settings.port}"
        entry = known.lookup(name)
        if entry is None or key.get_name() not in entry:
            raise TransportError(settings.endpoint, f"SFTP {settings.host}:{settings.port}: host key {offered} "
                                 f"is not in {settings.known_hosts}; refusing to connect")
        if entry[key.get_name()] != key:
            raise TransportError(settings.endpoint, f"SFTP {settings.host}:{settings.port}: host key {offered} "
                                 f"differs from the one in {settings.known_hosts}; refusing to connect")

    def _private_key(self) -> paramiko.PKey:
        passphrase = self.settings.passphrase.reveal() if self.settings.passphrase else None
        try:
            return paramiko.PKey.from_path(self.settings.private_key_file, passphrase)
        except (OSError, paramiko.SSHException, ValueError) as exc:
            raise self.failure(f"cannot load the private key {self.settings.private_key_file}", exc) from exc

    def drop(self) -> None:
        sftp, transport, self._sftp, self._transport = self._sftp, self._transport, None, None
        for closable in (sftp, transport):
            if closable is not None:
                try:
                    closable.close()
                except Exception:  # noqa: BLE001 - a broken connection is gone either way
                    pass


class _FileAcknowledgement:
    def __init__(self, adapter: "SftpInbound", name: str):
        self.adapter, self.name = adapter, name

    def ack(self) -> None:
        self.adapter._move(self.name, "SentBox")

    def nack(self, reason: str) -> None:
        self.adapter._move(self.name, "FailBox")


class SftpInbound(Lifecycle):
    def __init__(self, settings: SftpSettings):
        self.settings = settings
        self.endpoint = settings.endpoint
        self.address = settings.address
        self._connection = _Connection(settings)
        self._backlog: collections.deque = collections.deque()  # (name, size) ready to hand out
        self._listed_at = 0.0
        self._seen: dict[str, tuple[int, int, float]] = {}  # name -> (size, mtime, first seen unchanged)

    def connect(self) -> None:
        try:
            self._connection.client()
        except TransportError:
            pass  # the engine's polls retry; a partner being down must not stop the hub from starting

    def receive(self, max_count: int) -> list[Inbound]:
        try:
            sftp = self._connection.client()
            # A large backlog is listed once and handed out batch by batch, but never from a listing
            # older than a second (or the settle time): a file's size must be the size it has now.
            if not self._backlog or time.monotonic() - self._listed_at > max(1.0, self.settings.settle_seconds):
                self._backlog.clear()
                self._backlog.extend(self._ready(sftp))
                self._listed_at = time.monotonic()
            received = []
            while self._backlog and len(received) < max_count:
                name, size = self._backlog.popleft()
                path = posixpath.join(self.settings.box("OutBox"), name)
                body = b""
                if size <= self.settings.max_bytes:
                    try:
                        with sftp.open(path, "rb") as handle:
                            # Pipelined reads of exactly the listed size: no round trip per 32 KB block
                            # and none to find the end. The listing is at most a second old, and the
                            # file was complete then (settled, renamed in, or marked done).
                            handle.prefetch(size)
                            body = handle.read(size)
                    except FileNotFoundError:
                        continue  # taken away since the listing
                    size = len(body)
                received.append(Inbound(Message(body=body, endpoint=self.endpoint, name=name, size=size),
                                        _FileAcknowledgement(self, name)))
            return received
        except TransportError:
            self._lost()
            raise
        except Exception as exc:  # noqa: BLE001 - any library error is this endpoint's failure, not the hub's
            self._lost()
            raise self._connection.failure("cannot read OutBox", exc) from exc

    def _ready(self, sftp: paramiko.SFTPClient) -> list[tuple[str, int]]:
        """Files in OutBox that are complete: settled for settle_seconds, or with their done marker."""
        entries = [e for e in sftp.listdir_attr(self.settings.box("OutBox")) if stat.S_ISREG(e.st_mode or 0)]
        names = {e.filename for e in entries}
        marker = self.settings.done_marker
        now = time.monotonic()
        ready = []
        for entry in sorted(entries, key=lambda e: (e.st_mtime or 0, e.filename)):
            name = entry.filename
            if in_progress(name):
                continue
            if marker:
                if name.endswith(marker) or f"{name}{marker}" not in names:
                    continue
            elif self.settings.settle_seconds > 0:
                signature = (entry.st_size or 0, entry.st_mtime or 0)
                seen = self._seen.get(name)
                if seen is None or seen[:2] != signature:
                    self._seen[name] = (*signature, now)  # new or still changing: look again later
                    continue
                if now - seen[2] < self.settings.settle_seconds:
                    continue
            ready.append((name, entry.st_size or 0))
        self._seen = {name: seen for name, seen in self._seen.items() if name in names}
        return ready

    def _move(self, name: str, box: str) -> None:
        try:
            sftp = self._connection.client()
            source = posixpath.join(self.settings.box("OutBox"), name)
            try:
                # plain SFTP rename refuses to replace an existing file: one round trip when all is well
                sftp.rename(source, posixpath.join(self.settings.box(box), name))
            except OSError:
                if not _exists(sftp, source):
                    raise
                counter = 1  # an earlier file of the same name is there: never overwrite it
                while _exists(sftp, target := posixpath.join(self.settings.box(box), numbered(name, counter))):
                    counter += 1
                sftp.rename(source, target)
            if self.settings.done_marker:
                try:
                    sftp.remove(source + self.settings.done_marker)
                except FileNotFoundError:
                    pass
            self._seen.pop(name, None)
        except TransportError:
            self._lost()
            raise
        except Exception as exc:  # noqa: BLE001 - any library error is this endpoint's failure, not the hub's
            self._lost()
            raise self._connection.failure(f"could not move {name} to {box}", exc) from exc

    def _lost(self) -> None:
        self._backlog.clear()
        self._connection.drop()

    def close(self) -> None:
        self._connection.drop()


def _replace(sftp: paramiko.SFTPClient, source: str, target: str) -> None:
    """Rename over an existing file: OpenSSH's posix-rename, else remove and rename."""
    try:
        sftp.posix_rename(source, target)
    except (IOError, paramiko.SFTPError) as exc:
        if "unsupported" not in str(exc).lower() and "not supported" not in str(exc).lower():
            raise
        try:
            sftp.remove(target)
        except FileNotFoundError:
            pass
        sftp.rename(source, target)


def _exists(sftp: paramiko.SFTPClient, path: str) -> bool:
    try:
        sftp.stat(path)
        return True
    except FileNotFoundError:
        return False


class SftpOutbound(Lifecycle):
    """Writes into the party's InBox from one delivery thread."""

    def __init__(self, settings: SftpSettings):
        self.settings = settings
        self.endpoint = settings.endpoint
        self._connection = _Connection(settings)

    def send(self, outgoing: Outgoing) -> None:
        name = check_delivery_name(self.endpoint, outgoing.name)
        inbox = self.settings.box("InBox")
        partial, final = posixpath.join(inbox, f".{name}.part"), posixpath.join(inbox, name)
        try:
            sftp = self._connection.client()
            with sftp.open(partial, "wb") as handle:
                handle.set_pipelined(True)
                handle.write(outgoing.body)
            written = sftp.stat(partial).st_size
            if written != len(outgoing.body):
                raise TransportError(self.endpoint, f"SFTP wrote {written} of {len(outgoing.body)} bytes "
                                                    f"of {name}; not renaming it into InBox")
            _replace(sftp, partial, final)  # replaces an earlier copy of the same delivery
        except TransportError:
            self._connection.drop()
            raise
        except Exception as exc:  # noqa: BLE001 - any library error is this endpoint's failure, not the hub's
            self._connection.drop()
            raise self._connection.failure(f"cannot deliver {name} to {inbox}", exc) from exc

    def close(self) -> None:
        self._connection.drop()
