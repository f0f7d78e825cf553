"""The hub's settings and its endpoints, read from ``config/``.

``hub.toml`` holds the hub's own settings; ``endpoints/*.toml`` holds one file
per party (the file name is the endpoint's name). Paths are relative to the
file that names them. Reading config does no I/O beyond reading these files:
``hub lint`` relies on that.

Transport settings are kept as a ``Table`` here and given meaning by the
adapter registered under ``transport.kind``; the core does not know them.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError
from .parsing import Limits
from .secrets import secret
from .spec import Table, load_toml

_ENDPOINT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and how patiently, a delivery to one endpoint is tried before it is DEAD."""

    max_attempts: int = 8
    first_delay: float = 2.0  # seconds before the second attempt
    max_delay: float = 300.0  # the backoff's ceiling

    def delay(self, attempts: int) -> float:
        """Exponential backoff with jitter after ``attempts`` failures: between half and all of
        first_delay × 2^(attempts-1), capped at max_delay, so that retries of many deliveries spread out."""
        ceiling = min(self.max_delay, self.first_delay * 2 ** (attempts - 1))
        return random.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Endpoint:
    """One party's connection to the hub and what it may do."""

    name: str
    file: str
    party: str  # enterprise | customs | zone | agency
    description: str
    contact: str
    dialect: str
    ids: tuple[str, ...]  # sender ids it may use (and receiver ids that reach it)
    may_send: tuple[str, ...]
    may_receive: tuple[str, ...]
    declares_for: tuple[str, ...] | None  # enterprise numbers it may declare for (None: not checked)
    transport_kind: str
    transport: Table = field(compare=False, repr=False)
    retry: RetryPolicy = RetryPolicy()
    owes: tuple[tuple[str, str, float], ...] = ()  # (receipt type, for which received type, seconds)


@dataclass(frozen=True)
class JournalSettings:
    backend: str  # sqlite | postgres
    path: Path  # the SQLite file
    dsn: str = ""  # PostgreSQL: libpq connection string, without the password
    schema: str = "public"
    password: object = field(default=None, repr=False)  # a Secret (password_file / password_env), or None

    @property
    def where(self) -> str:
        return str(self.path) if self.backend == "sqlite" else f"{self.dsn} (schema {self.schema})"


@dataclass(frozen=True)
class ConsoleSettings:
    """``[console]``: the operators' web console (package ``console``)."""

    enabled: bool = False  # also serve it from `hub run`
    bind: str = "127.0.0.1"
    port: int = 8470
    users: Path | None = None  # the users file `hub console-user` writes (hashes only)
    session_hours: float = 8.0
    secure_cookies: bool = False  # behind a TLS proxy: mark the session cookie Secure


@dataclass(frozen=True)
class Settings:
    file: str
    data_dir: Path
    catalog_file: Path
    routes_dir: Path
    endpoints_dir: Path
    poll_interval: float
    batch_size: int
    delivery_lease: float  # how long a process's claim on a delivery lasts unrenewed (shared journals)
    limits: Limits
    journal_path: Path
    log_format: str  # auto | json | pretty
    log_level: str
    node_id: str  # the hub's electronic-port (DXP) node id, the sender of what it wraps
    journal: JournalSettings | None = None
    console: "ConsoleSettings | None" = None


PARTIES = ("enterprise", "customs", "zone", "agency", "test")


def load_settings(config_file: Path, data_dir: Path | None = None) -> Settings:
    config_file = config_file.resolve()
    top = load_toml(config_file)
    base = config_file.parent
    hub = top.table("hub")
    limits = top.table("limits")
    journal = top.table("journal")
    log = top.table("log")
    configured = (base / hub.str("data_dir", "../var/embedded")).resolve()
    root = data_dir.resolve() if data_dir else configured
    settings = Settings(
        file=str(config_file),
        data_dir=root,
        catalog_file=(base / hub.str("catalog", "../schemas/catalog.toml")).resolve(),
        routes_dir=(base / hub.str("routes", "../routes")).resolve(),
        endpoints_dir=(base / hub.str("endpoints", "endpoints")).resolve(),
        poll_interval=hub.float("poll_interval", 1.0),
        batch_size=hub.int("batch_size", 100, minimum=1),
        delivery_lease=hub.duration("delivery_lease", 60.0),
        limits=Limits(
            max_bytes=limits.int("max_document_bytes", Limits.max_bytes, minimum=1),
            max_depth=limits.int("max_depth", Limits.max_depth, minimum=4),
            stream_bytes=limits.int("stream_document_bytes", Limits.stream_bytes, minimum=1024),
            max_tree_bytes=limits.int("max_tree_document_bytes", Limits.max_tree_bytes, minimum=1024),
        ),
        journal_path=root / journal.str("path", "journal.sqlite"),
        log_format=log.choice("format", ("auto", "json", "pretty"), "auto"),
        log_level=log.choice("level", ("debug", "info", "warning", "error"), "info"),
        node_id=hub.str("node_id", "DXPHUB0000000001"),
        journal=_journal_settings(journal, root),
        console=_console_settings(top.table("console"), base),
    )
    for table in (hub, limits, journal, log, top):
        table.done()
    if settings.limits.max_depth > 256:
        raise limits.error("max_depth", "libxml2 refuses nesting beyond 256; choose 256 or less")
    return settings


def _console_settings(table: Table, base: Path) -> "ConsoleSettings":
    users = table.str("users", "console-users.toml")
    settings = ConsoleSettings(
        enabled=table.bool("enabled", False),
        bind=table.str("bind", "127.0.0.1"),
        port=table.int("port", 8470, minimum=0),
        users=(base / users).resolve(),
        session_hours=table.float("session_hours", 8.0),
        secure_cookies=table.bool("secure_cookies", False),
    )
    table.done()
    return settings


def _journal_settings(table: Table, data_dir: Path) -> JournalSettings:
    backend = table.choice("backend", ("sqlite", "postgres"), "sqlite")
    path = data_dir / table.str("path", "journal.sqlite")
    if backend == "sqlite":
        return JournalSettings("sqlite", path)
    dsn = table.str("dsn", "")
    if not dsn:
        raise table.error("dsn", 'the postgres backend needs a dsn, e.g. "host=127.0.0.1 dbname=hub user=hub"')
    if re.search(r"(^|\s)password\s*=", dsn) or re.search(r"://[^/@]*:[^/@]*@", dsn):
        raise table.error("dsn", "passwords are never written in config files; use password_file or password_env")
    schema = table.str("schema", "public")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
        raise table.error("schema", "a schema name is lower-case letters, digits and _")
    return JournalSettings("postgres", path, dsn, schema, secret(table, "password", "journal", required=False))


def load_endpoints(folder: Path) -> dict[str, Endpoint]:
    endpoints: dict[str, Endpoint] = {}
    owners: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        endpoint = _endpoint(path)
        for sender_id in endpoint.ids:
            if sender_id in owners:
                raise ConfigError(str(path), "ids", f"id {sender_id} already belongs to endpoint {owners[sender_id]}")
            owners[sender_id] = endpoint.name
        endpoints[endpoint.name] = endpoint
    if not endpoints:
        raise ConfigError(str(folder), "-", "no endpoint files (*.toml) in this folder")
    return endpoints


def _endpoint(path: Path) -> Endpoint:
    top = load_toml(path)
    name = path.stem
    if not _ENDPOINT_NAME.match(name):
        raise ConfigError(str(path), "-", "an endpoint file name must be lower-case letters, digits and dashes")
    transport = top.table("transport", required=True)
    delivery = top.table("delivery")
    retry = RetryPolicy(
        max_attempts=delivery.int("max_attempts", RetryPolicy.max_attempts, minimum=1),
        first_delay=delivery.duration("first_delay", RetryPolicy.first_delay),
        max_delay=delivery.duration("max_delay", RetryPolicy.max_delay),
    )
    delivery.done()
    owes = []
    for entry in top.tables("owes"):
        owes.append((entry.str("receipt"), entry.str("for"), entry.duration("within")))
        entry.done()
    endpoint = Endpoint(
        name=name,
        file=str(path),
        party=top.choice("party", PARTIES),
        description=top.str("description", ""),
        contact=top.str("contact"),
        dialect=top.str("dialect"),
        ids=tuple(top.str_list("ids", [])),
        may_send=tuple(top.str_list("may_send", [])),
        may_receive=tuple(top.str_list("may_receive", [])),
        declares_for=tuple(top.str_list("declares_for")) if "declares_for" in top.data else None,
        transport_kind=transport.str("kind"),
        transport=transport,
        retry=retry,
        owes=tuple(owes),
    )
    top.done()  # the transport table is checked by its adapter
    if endpoint.may_send and not endpoint.ids:
        raise top.error("ids", "an endpoint that may send needs the sender ids it may use")
    return endpoint
