"""The hub's composition root and command line.

Read this file first. ``assemble`` reads the config, the catalog and the
routes (no I/O beyond reading those files); ``open_engine`` adds the journal
and the adapters; the commands below use one or the other.

    hub run [--once]          run the hub (until stopped, or until nothing is waiting)
    hub demo                  feed the bundled samples through the embedded default and tell their story
    hub validate FILE...      check documents against their schemas (exit 1 if any is invalid)
    hub inspect FILE          print a document's envelope facts as JSON
    hub route FILE            show where a document would go, and through which map
    hub trace ID              a document's events, by document id, message id, business id or key
    hub lint                  check config, routes and schemas, and run the route tests, without I/O
    hub schemas               every type in the catalog with its dialects, keys, maps and routes
    hub test-routes           run the route tests beside the rules
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import fnmatch
import getpass
import json
import os
import shutil
import signal
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import adapters
from exchange import catalog as catalogs
from exchange import logs
from exchange.config import Endpoint, Settings, load_endpoints, load_settings
from exchange.engine import Engine
from exchange.errors import ConfigError, HubError, RefusedInput, TransportError
from exchange.journal import Journal, open_journal
from exchange.trace import event_text
from exchange.pipeline import Context, check_document, process, read_document, read_envelope
from exchange.receipts import ANSWER_TYPE
from exchange.routetests import run_all
from exchange.routing import Router, load_gathers, load_rules
from exchange.spec import Table
from exchange.typenames import type_matches

HOME = Path(__file__).resolve().parent
DEFAULT_CONFIG = HOME / "config" / "hub.toml"


@dataclass
class Assembly:
    settings: Settings
    catalog: catalogs.Catalog
    endpoints: dict[str, Endpoint]
    router: Router
    context: Context
    route_tests: list[tuple[Path, Table]]


def assemble(config_file: Path, data_dir: Path | None = None) -> Assembly:
    """Everything the pipeline needs, read and compiled once. Raises ConfigError."""
    settings = load_settings(config_file, data_dir)
    catalog = catalogs.load(settings.catalog_file)
    endpoints = load_endpoints(settings.endpoints_dir)
    rules, route_tests = load_rules(settings.routes_dir)
    gathers = load_gathers(settings.routes_dir)
    owners = {sender_id: endpoint.name for endpoint in endpoints.values() for sender_id in endpoint.ids}
    router = Router(rules, owners)
    context = Context(catalog=catalog, router=router, endpoints=endpoints, limits=settings.limits,
                      node_id=settings.node_id, gathers=tuple(gathers))
    return Assembly(settings, catalog, endpoints, router, context, route_tests)


def consistency_problems(assembly: Assembly) -> list[str]:
    """Cross-file checks: what each file alone cannot know. Each names the file and the key."""
    problems = []
    catalog, endpoints = assembly.catalog, assembly.endpoints
    addresses: dict[str, str] = {}
    problems += catalog.model_problems()
    for endpoint in endpoints.values():
        for key in ("may_send", "may_receive"):
            for type_ in getattr(endpoint, key):
                if not catalog.knows(type_) and type_ != ANSWER_TYPE:
                    problems.append(f"{endpoint.file}: {key}: {type_} is not a type in {catalog.source}")
        try:
            receiver, _ = adapters.build(endpoint, assembly.settings.data_dir, assembly.settings.limits)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if receiver.address in addresses:
            problems.append(f"{endpoint.file}: transport: reads from {receiver.address}, "
                            f"as endpoint {addresses[receiver.address]} does")
        addresses[receiver.address] = endpoint.name
    for rule in assembly.router.rules:
        for type_ in rule.types:
            if not catalog.knows(type_):
                problems.append(f"{rule.file}: route {rule.name}: type: {type_} is not in the catalog")
        for destination in rule.destinations:
            where = f"{rule.file}: route {rule.name}: to"
            receiver = endpoints.get(destination.endpoint)
            if receiver is None:
                problems.append(f"{where}: no endpoint named {destination.endpoint}")
                continue
            output_types = set(rule.types)
            if destination.map is not None:
                spec = catalog.maps.get(destination.map)
                if spec is None:
                    problems.append(f"{where}: no map named {destination.map} in {catalog.source}")
                    continue
                if spec.source[0] not in rule.types or len(rule.types) != 1:
                    problems.append(f"{where}: map {spec.name} converts {spec.source[0]}, "
                                    f"but the route matches {', '.join(rule.types)}")
                supplied = {param for param, _ in destination.params}
                missing = [param for param in spec.params if param not in supplied]
                if missing:
                    problems.append(f"{where}: map {spec.name} needs {', '.join(missing)}: name the correlation "
                                    f"key each comes from, params = {{ {missing[0]} = \"...\" }}")
                unknown = sorted(supplied - set(spec.params))
                if unknown:
                    problems.append(f"{where}: map {spec.name} takes no parameter {', '.join(unknown)}")
                # "hub" is the dialect of the hub's own formats (closing notice, joint review): every party reads it
                if spec.target[1] not in (receiver.dialect, "hub"):
                    problems.append(f"{where}: map {spec.name} produces the {spec.target[1]} dialect, "
                                    f"but {receiver.name} speaks {receiver.dialect}")
                output_types = {spec.target[0]}
            for type_ in sorted(t for t in output_types if not type_matches(receiver.may_receive, t)):
                problems.append(f"{where}: endpoint {receiver.name} may not receive {type_} "
                                f"(its may_receive in {receiver.file})")
        for pattern in rule.senders:
            if not any(fnmatch.fnmatchcase(name, pattern) for name in endpoints):
                problems.append(f"{rule.file}: route {rule.name}: from: {pattern} matches no endpoint")
    return problems


class DataDirLock:
    """One hub per data folder: two would read the same sources and fork the journal."""

    def __init__(self, data_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        self._file = open(data_dir / "hub.lock", "a+")
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise ConfigError(str(data_dir), "data_dir", "another hub is already running on this data folder")
        self._file.truncate(0)
        self._file.write(f"{os.getpid()}\n")  # `hub reload` signals this process
        self._file.flush()

    @staticmethod
    def holder(data_dir: Path) -> int | None:
        """The pid of the hub running on this data folder, or None."""
        try:
            with open(data_dir / "hub.lock") as file:
                try:
                    fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    return None  # nobody holds it
                except BlockingIOError:
                    return int(file.read().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        self._file.close()  # closing releases the lock


def open_engine(assembly: Assembly, journal: Journal | None = None, lock: DataDirLock | None = None) -> Engine:
    """The journal and every endpoint's adapters, connected, in an engine. Close it with ``engine.close()``.
    A reload passes the journal and the lock of the engine it replaces."""
    lock = lock or DataDirLock(assembly.settings.data_dir)
    journal = journal or open_journal(assembly.settings.journal)
    inbound, outbound, opened = {}, {}, [lock]
    try:
        for endpoint in assembly.endpoints.values():
            receiver, sender = adapters.build(endpoint, assembly.settings.data_dir, assembly.settings.limits)
            # Only endpoints that may send are listened to: an idle consumer would hold messages.
            connect = [receiver, sender] if endpoint.may_send else [sender]
            for adapter in connect:
                try:
                    adapter.connect()
                except TransportError as exc:
                    # A partner that is down must not keep the hub (and every other partner) from
                    # starting: its adapter connects again on the next poll or send.
                    logs.get().error("endpoint.connect_failed", endpoint=endpoint.name, error=exc.reason)
            if endpoint.may_send:
                inbound[endpoint.name] = receiver
                opened.append(receiver)
            outbound[endpoint.name] = sender
    except BaseException:
        for adapter in [*opened, *outbound.values()]:
            adapter.close()
        journal.close()
        raise
    engine = Engine(assembly.context, journal, inbound, outbound, batch_size=assembly.settings.batch_size,
                    owner=f"{socket.gethostname()}:{assembly.settings.data_dir}")
    engine.resources = opened
    engine.lease = assembly.settings.delivery_lease
    engine.lock = lock
    return engine


def reload_engine(engine: Engine, config: Path, data_dir: Path | None) -> tuple[Engine, Assembly | None]:
    """The running engine again with the configuration now on disk, or unchanged when that is invalid.

    Between two polls: the old engine finishes and records every delivery its workers hold, closes
    its adapters, and hands its journal and lock to the new one. Nothing is in flight in between:
    sources are settled before a poll ends, and deliveries not yet handed out wait in the journal
    (claimed by the same owner, so the new engine takes them at once)."""
    log = logs.get()
    try:
        assembly = assemble(config, data_dir)
        problems = consistency_problems(assembly)
        if problems:
            raise ConfigError(str(config), "-", "; ".join(problems))
    except ConfigError as exc:
        log.error("config.reload_refused", reason=str(exc))
        with engine.journal.transaction():
            engine.journal.record_action("RELOAD_REFUSED", "hub", str(exc))
        return engine, None
    journal, lock, latency = engine.journal, engine.lock, engine.latency
    engine.close(keep=(journal, lock))
    replacement = open_engine(assembly, journal=journal, lock=lock)
    replacement.latency = latency
    with journal.transaction():
        journal.record_action("RELOADED", "hub", "", {"endpoints": sorted(assembly.endpoints),
                                                      "routes": [rule.name for rule in assembly.router.rules]})
    log.info("config.reloaded", endpoints=sorted(assembly.endpoints))
    return replacement, assembly


# -- commands ----------------------------------------------------------------


def cmd_run(args) -> int:
    assembly = assemble(args.config, args.data_dir)
    _configure_logs(args, assembly.settings)
    engine = open_engine(assembly)
    stop, wake, reload = threading.Event(), threading.Event(), threading.Event()

    def on_stop(*_):
        stop.set()
        wake.set()

    def on_reload(*_):
        reload.set()
        wake.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_stop)
    signal.signal(signal.SIGHUP, on_reload)  # `hub reload`
    log = logs.get()
    log.info("hub.started", config=assembly.settings.file, endpoints=sorted(assembly.endpoints),
             once=args.once)
    server = None
    try:
        if assembly.settings.console.enabled and not args.once:
            server = build_console(assembly, engine).start()
            print(f"hub: console at {server.url}", file=sys.stderr)
        while True:
            engine.run(once=args.once, poll_interval=assembly.settings.poll_interval, stop=wake)
            if not reload.is_set() or stop.is_set():
                break
            reload.clear()
            wake.clear()
            engine, reloaded = reload_engine(engine, args.config, args.data_dir)
            assembly = reloaded or assembly
            if server is not None and reloaded is not None:  # the console acts with the new routes
                server.console.act.context = reloaded.context
                server.console.metrics = engine.latency
        counts = engine.journal.delivery_counts()
    finally:
        if server is not None:
            server.stop()
        engine.close()
    log.info("hub.stopped", deliveries=counts)
    waiting = {state: n for state, n in counts.items() if state in ("PENDING", "DEAD")}
    if waiting:
        # --once took in everything waiting; say what could not be delivered (yet)
        print("hub: deliveries not done: " + ", ".join(f"{n} {state}" for state, n in sorted(waiting.items()))
              + " (PENDING ones are retried by the next run)", file=sys.stderr)
    return 0


def build_console(assembly: Assembly, engine: Engine | None = None):
    """The operators' console over this deployment's journal; with a running engine, also its
    delivery latencies (/metrics). Start it with ``.start()``, stop it with ``.stop()``."""
    from console.actions import Actions
    from console.data import ReadModel
    from console.metrics import DeliveryLatency
    from console.server import Console, ConsoleServer

    settings = assembly.settings
    open_journal(settings.journal).close()  # create it, so that readers find it
    if engine is not None and engine.latency is None:
        engine.latency = DeliveryLatency()
    console = Console(settings.console, ReadModel(lambda: open_journal(settings.journal, readonly=True)),
                      Actions(lambda: open_journal(settings.journal), assembly.context, settings.batch_size,
                              settings.data_dir),
                      engine.latency if engine is not None else None)
    if not console.users():
        raise ConfigError(str(settings.console.users), "-", "no console users: add one with "
                          "`hub console-user NAME --role admin`")
    return ConsoleServer(console)


def cmd_console(args) -> int:
    """Serve the console alone, until interrupted (a running `hub run` delivers what it queues)."""
    assembly = assemble(args.config, args.data_dir)
    _configure_logs(args, assembly.settings)
    if args.port is not None:
        settings = dataclasses.replace(assembly.settings,
                                       console=dataclasses.replace(assembly.settings.console, port=args.port))
        assembly = dataclasses.replace(assembly, settings=settings)
    server = build_console(assembly).start()
    print(f"hub: console at {server.url} (Ctrl-C stops it)", file=sys.stderr)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


def cmd_console_user(args) -> int:
    """Add a console user, or change one's role or password (the file keeps hashes only)."""
    from console.auth import write_user

    assembly = assemble(args.config, args.data_dir)
    if args.password_env:
        password = os.environ.get(args.password_env, "")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if password != getpass.getpass("again: "):
            print("hub: the passwords differ", file=sys.stderr)
            return 2
    if len(password) < 10:
        print("hub: a console password has at least 10 characters", file=sys.stderr)
        return 2
    write_user(assembly.settings.console.users, args.name, args.role, password)
    print(f"{args.name} ({args.role}) written to {assembly.settings.console.users}")
    return 0


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string is a JSON string


def cmd_reload(args) -> int:
    """Check the configuration on disk, then tell the running hub to take it up (SIGHUP)."""
    try:
        assembly = assemble(args.config, args.data_dir)
        problems = consistency_problems(assembly)
    except ConfigError as exc:
        problems = [str(exc)]
    if problems:
        print("hub: not reloaded; the running hub keeps its configuration:\n  " + "\n  ".join(problems),
              file=sys.stderr)
        return 2
    pid = DataDirLock.holder(assembly.settings.data_dir)
    if pid is None:
        print(f"hub: no hub is running on {assembly.settings.data_dir}; the next `hub run` reads the new "
              "configuration", file=sys.stderr)
        return 1
    os.kill(pid, signal.SIGHUP)
    print(f"hub: process {pid} reloads {len(assembly.endpoints)} endpoints and {len(assembly.router.rules)} routes")
    return 0


def cmd_endpoint_add(args) -> int:
    """Write a new endpoint file from the answers given; for SFTP, pin the host key only when confirmed."""
    from adapters.selftest import fetch_host_key

    settings = load_settings(args.config, args.data_dir)
    path = settings.endpoints_dir / f"{args.name}.toml"
    if path.exists() and not args.force:
        print(f"hub: {path} exists; --force replaces it", file=sys.stderr)
        return 2
    transport: dict = {"kind": args.transport}
    if args.transport == "local":
        transport["folder"] = args.folder or args.name
    elif args.transport == "sftp":
        if not (args.host and args.username and args.private_key_file):
            print("hub: an SFTP endpoint needs --host, --username and --private-key-file", file=sys.stderr)
            return 2
        try:
            key_type, offered = fetch_host_key(args.host, args.port or 22)
        except (OSError, EOFError, Exception) as exc:  # noqa: BLE001 - any failure means: no key to show
            print(f"hub: cannot fetch the host key of {args.host}:{args.port or 22}: {exc}", file=sys.stderr)
            return 1
        if args.accept_fingerprint != offered:
            print(f"{args.host}:{args.port or 22} offers a {key_type} key with fingerprint\n    {offered}\n"
                  "Compare it with the one the partner gave you over another channel; if they match, run the "
                  f"same command again with --accept-fingerprint {offered}", file=sys.stderr)
            return 3
        transport.update(host=args.host, port=args.port or 22, username=args.username,
                         private_key_file=args.private_key_file, host_key_sha256=offered,
                         folder=args.folder or "/")
    else:
        if not (args.host and args.username and (args.password_env or args.password_file) and args.send_exchange):
            print("hub: an AMQP endpoint needs --host, --username, --password-env or --password-file, and "
                  "--send-exchange", file=sys.stderr)
            return 2
        transport.update(host=args.host, port=args.port or 5672, virtual_host=args.virtual_host or "/",
                         username=args.username, send_exchange=args.send_exchange,
                         send_routing_key=args.send_routing_key or args.name)
        transport["password_env" if args.password_env else "password_file"] = args.password_env or args.password_file
        for key in ("receive_queue", "send_queue"):
            if getattr(args, key):
                transport[key] = getattr(args, key)
        transport["declare"] = not args.no_declare
    lines = [f"# {args.description or args.name}: added by `hub endpoint add` ({_current_user()}, {logs_now()})",
             f"party = {_toml_value(args.party)}", f"description = {_toml_value(args.description or args.name)}",
             f"contact = {_toml_value(args.contact)}", f"dialect = {_toml_value(args.dialect)}",
             f"ids = {_toml_value(args.ids)}", f"may_send = {_toml_value(args.may_send)}",
             f"may_receive = {_toml_value(args.may_receive)}"]
    for owed in args.owes:
        receipt, _, rest = owed.partition(":")
        for_type, _, within = rest.partition(":")
        lines.append(f"owes = [{{ receipt = {_toml_value(receipt)}, for = {_toml_value(for_type)}, "
                     f"within = {_toml_value(within or '30m')} }}]")
    lines += ["", "[delivery]", f"max_attempts = {args.max_attempts}", 'first_delay = "2s"', 'max_delay = "5m"',
              "", "[transport]"] + [f"{key} = {_toml_value(value)}" for key, value in transport.items()]
    text = "\n".join(lines) + "\n"

    def problems_now() -> set[str]:
        try:
            return set(consistency_problems(assemble(args.config, args.data_dir)))
        except ConfigError as exc:
            return {str(exc)}

    before = problems_now()  # what is wrong already is not this endpoint's to fix
    previous = path.read_text() if path.exists() else None
    path.write_text(text, encoding="utf-8")
    problems = sorted(problems_now() - before)  # the new file must pass what `hub lint` checks
    if problems:
        if previous is None:
            path.unlink()
        else:
            path.write_text(previous)
        print("hub: the endpoint was not added:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    print(f"wrote {path}; next: `hub endpoint check {args.name}`, then reload the running hub (`hub reload`)")
    return 0


def logs_now() -> str:
    from exchange.journal import now

    return now()[:19]


def cmd_endpoint_check(args) -> int:
    """Run an endpoint's self-test; journal it with who ran it."""
    from adapters.selftest import FAILED, check

    assembly = assemble(args.config, args.data_dir)
    endpoint = assembly.endpoints.get(args.name)
    if endpoint is None:
        print(f"hub: no endpoint {args.name} in {assembly.settings.endpoints_dir}", file=sys.stderr)
        return 2
    canary = None
    if args.canary:
        try:
            canary = (Path(args.canary).read_bytes(), Path(args.canary).name, assembly.context)
        except OSError as exc:
            print(f"hub: cannot read {args.canary}: {exc.strerror}", file=sys.stderr)
            return 2
    steps = check(endpoint, assembly.catalog, assembly.settings.data_dir, assembly.settings.limits, canary)
    failed = any(step.outcome == FAILED for step in steps)
    journal = open_journal(assembly.settings.journal)
    try:
        with journal.transaction():
            journal.append(f"endpoint:{args.name}", "SELF_TEST", endpoint=args.name,
                           reason="failed" if failed else "passed",
                           detail={"by": args.by, "steps": [step.as_dict() for step in steps]})
            journal.record_action("SELF_TEST", args.by, "failed" if failed else "passed", {"endpoint": args.name})
    finally:
        journal.close()
    if args.json:
        print(json.dumps({"endpoint": args.name, "passed": not failed, "steps": [s.as_dict() for s in steps]},
                         ensure_ascii=False, indent=2))
    else:
        for step in steps:
            print(f"{step.outcome:<8} {step.name}: {step.explanation}")
        print(f"\n{args.name}: {'FAILED' if failed else 'ready'}")
    return 1 if failed else 0


def _check_file(path: Path, assembly: Assembly) -> dict:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return {"file": str(path), "status": "unreadable", "reason": str(exc), "issues": []}
    try:
        kind, document, drift = check_document(data, assembly.context, file=str(path))
    except RefusedInput as exc:
        return {"file": str(path), "status": "refused", "reason": exc.reason,
                "issues": [i.as_dict() for i in exc.issues]}
    except HubError as exc:
        return {"file": str(path), "status": "invalid", "reason": exc.reason,
                "issues": [dict(i.as_dict(), file=str(path)) for i in exc.issues],
                "warnings": [d.as_dict() for d in getattr(exc, "drift", [])]}
    return {"file": str(path), "status": "valid", "type": kind.type, "dialect": kind.dialect, "policy": kind.policy,
            "issues": [], "warnings": [d.as_dict() for d in drift]}


def cmd_validate(args) -> int:
    assembly = assemble(args.config, args.data_dir)
    results = [_check_file(Path(name), assembly) for name in args.files]
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for result in results:
            if result["status"] == "valid":
                warnings = result["warnings"]
                count = f", {len(warnings)} warning{'s' if len(warnings) != 1 else ''} (schema drift)" if warnings else ""
                print(f"{result['file']}: valid {result['type']}/{result['dialect']} ({result['policy']}){count}")
                for warning in warnings:
                    line = f"line {warning['line']}" if warning.get("line") else "line ?"
                    print(f"  {result['file']}:{line}: {warning['path']}: warning: {warning['message']}")
                continue
            print(f"{result['file']}: {result['status']}: {result['reason']}")
            for issue in result["issues"]:
                line = f"line {issue['line']}" if issue.get("line") else "line ?"
                print(f"  {result['file']}:{line}: {issue.get('path') or '-'}: {issue['message']}")
            for warning in result.get("warnings", []):
                line = f"line {warning['line']}" if warning.get("line") else "line ?"
                print(f"  {result['file']}:{line}: {warning['path']}: warning: {warning['message']}")
    statuses = {r["status"] for r in results}
    if statuses & {"refused", "unreadable"}:
        return 2
    return 1 if "invalid" in statuses else 0


def cmd_inspect(args) -> int:
    assembly = assemble(args.config, args.data_dir)
    try:
        document = read_envelope(Path(args.file).read_bytes(), assembly.context)
    except (HubError, OSError) as exc:
        print(f"{args.file}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 2
    facts = document.envelope.as_dict()
    try:
        kind, document = assembly.catalog.identify(document)
        facts = document.envelope.as_dict()
        facts["catalog"] = {"type": kind.type, "dialect": kind.dialect, "policy": kind.policy,
                            "family": kind.family or None, "xsd": str(kind.xsd.relative_to(HOME))
                            if kind.xsd.is_relative_to(HOME) else str(kind.xsd)}
    except HubError as exc:
        facts["catalog"] = None
        facts["catalog_error"] = exc.reason
    print(json.dumps(facts, ensure_ascii=False, indent=2))
    return 0


def cmd_route(args) -> int:
    assembly = assemble(args.config, args.data_dir)
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 2
    sender = args.sender
    if sender is None:
        try:
            _, document = read_document(data, assembly.context)
        except HubError as exc:
            print(f"{args.file}: {exc.reason}", file=sys.stderr)
            return 2
        sender = assembly.router.endpoint_ids.get(document.business.sender)
        if sender is None:
            print(f"{args.file}: no endpoint owns sender id {document.business.sender!r}; name one with --from",
                  file=sys.stderr)
            return 2
    if sender not in assembly.endpoints:
        print(f"no endpoint named {sender}", file=sys.stderr)
        return 2
    outcome = process(data, sender, Path(args.file).name, assembly.context)
    if outcome.error:
        print(f"{args.file} from {sender}: refused ({outcome.error.code}): {outcome.error.reason}")
        for issue in outcome.error.issues:
            print(f"  {issue}")
        return 1
    print(f"{args.file} from {sender}: {outcome.kind.label}")
    for copy in outcome.copies:
        via = f"map {copy.destination.map}" if copy.destination.map else "unchanged"
        print(f"  -> {copy.destination.endpoint} ({via}, route {copy.destination.route}, "
              f"{copy.message_type}, {len(copy.body):,} bytes)")
    return 0


def cmd_trace(args) -> int:
    """One number's whole story: the documents it names and those linked to them (receipts, results,
    notices, resubmissions), as one timeline across the parties."""
    assembly = assemble(args.config, args.data_dir)
    journal = _open_journal(assembly)
    if journal is None:
        return 1
    try:
        found = journal.find_documents(args.id)
        if not found:
            print(f"nothing in {journal.where} is known as {args.id}", file=sys.stderr)
            return 1
        stories = [_story(journal, document_id) for document_id in journal.related(found)]
    finally:
        journal.close()
    stories.sort(key=lambda story: story["document"]["received_at"])
    timeline = sorted(({**event, "document_id": story["document"]["document_id"],
                        "message_type": story["document"]["message_type"]}
                       for story in stories for event in story["events"]), key=lambda event: event["seq"])
    if args.json:
        print(json.dumps({"query": args.id, "documents": stories, "timeline": timeline}, ensure_ascii=False,
                         indent=2))
        return 0
    print(f"{args.id}: {len(stories)} document(s)")
    labels = {}
    for number, story in enumerate(stories, 1):
        doc = story["document"]
        labels[doc["document_id"]] = f"#{number} {doc['message_type'] or '?'}"
        print(f"  #{number} {doc['message_type'] or '?':<10} {doc['document_id']}  from {doc['endpoint']} "
              f"({doc['source_name']})  {doc['state']}"
              + (f"  business id {doc['business_id']}" if doc["business_id"] else "")
              + (f"  resubmission of {doc['resubmission_of']}" if doc.get("resubmission_of") else ""))
    print()
    for event in timeline:
        print(f"{event['at'][:23]}  {labels[event['document_id']]:<16} {event['kind']:<15} "
              f"{event_text(event)}".rstrip())
        for issue in event["detail"].get("issues", []):
            print(f"{'':>42}- {_where(issue)}{issue['message']}")
    return 0


def _open_journal(assembly: Assembly, readonly: bool = True) -> Journal | None:
    try:
        return open_journal(assembly.settings.journal, readonly=readonly)
    except FileNotFoundError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return None


def cmd_failed(args) -> int:
    """Dead deliveries and refused documents: what an operator has to look at."""
    assembly = assemble(args.config, args.data_dir)
    journal = _open_journal(assembly)
    if journal is None:
        return 1
    try:
        failed = journal.failed()
    finally:
        journal.close()
    if args.json:
        print(json.dumps(failed, ensure_ascii=False, indent=2))
        return 0
    print(f"{len(failed['dead'])} dead deliveries, {len(failed['refused'])} refused documents, "
          f"{len(failed['decisions'])} failed decisions "
          "(`hub resubmit ID --reason ...` sends one again; `hub trace ID` tells its story)")
    for row in failed["decisions"]:
        print(f"DECISION {row['name']} {row['gather_key']}: its decision failed (document {row['document_id']}, "
              f"for {row['endpoint']}); fix the stylesheet, then resubmit the document")
    for row in failed["dead"]:
        print(f"DEAD     delivery {row['delivery_id']}  of {row['document_id']}  {row['message_type'] or '?'} "
              f"{row['business_id'] or ''} -> {row['endpoint']}  after {row['attempts']} attempts, "
              f"{row['updated_at']}: {row['last_error']}")
    for row in failed["refused"]:
        print(f"{row['state']:<8} document {row['document_id']}  {row['message_type'] or '?'} "
              f"{row['business_id'] or ''} from {row['endpoint']} ({row['source_name']}), "
              f"{row['received_at']}: {row['reason']}")
    return 0


def _current_user() -> str:
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):  # no name for this uid
        return f"uid {os.getuid()}"


def cmd_resubmit(args) -> int:
    """Send a dead delivery again, or process a refused document again (optionally corrected)."""
    assembly = assemble(args.config, args.data_dir)
    corrected = None
    if args.file:
        try:
            corrected = Path(args.file).read_bytes()
        except OSError as exc:
            print(f"hub: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 2
    journal = _open_journal(assembly, readonly=False)
    if journal is None:
        return 1
    # No adapters, no workers: what this queues is sent by the running hub's next scan.
    engine = Engine(assembly.context, journal, {}, {}, batch_size=assembly.settings.batch_size, owner="")
    try:
        result = engine.resubmit(args.id, by=args.by, reason=args.reason, corrected=corrected)
    except HubError as exc:
        print(f"hub: {exc.reason}", file=sys.stderr)
        return 1
    finally:
        journal.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif "decided" in result:
        print(f"document {result['document_id']}: decided again: {', '.join(result['decided'])}")
    elif "requeued" in result:
        print(f"document {result['document_id']}: {len(result['requeued'])} delivery(ies) queued again "
              f"({', '.join(result['requeued'])}); the running hub sends them")
    elif result["accepted"]:
        print(f"document {result['document_id']} resubmitted as {result['new_document_id']}: accepted; "
              "the running hub delivers it")
    else:
        print(f"document {result['document_id']} resubmitted as {result['new_document_id']}: refused again: "
              f"{result['reason']}")
    return 0 if result.get("accepted", True) else 1


def cmd_status(args) -> int:
    """The console's overview in a terminal: per party and type, the last hour, endpoints, receipts
    overdue or late, reviews open (read from the journal's counters: fast on millions)."""
    from console.data import ReadModel

    assembly = assemble(args.config, args.data_dir)
    journal = _open_journal(assembly)
    if journal is None:
        return 1
    try:
        read = ReadModel(lambda: journal, size=1)
        overview = read.overview()
        status = {**journal.counts(), "journal": journal.where, "overview": overview,
                  "receipts_waiting": overview["totals"]["awaiting"],
                  "receipts_overdue": journal.expectations(state="OVERDUE")[:100],
                  "receipts_late": journal.expectations(state="LATE")[-100:],
                  "reviews": journal.gathers(), "alerts": read.alerts()["open"], "drift": read.drift()}
    finally:
        journal.close()
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
        return 0
    totals = overview["totals"]
    print(f"journal {status['journal']}")
    print(f"documents: {totals['received']} received, {totals['delivered']} delivered, {totals['rejected']} refused; "
          f"{totals['dead']} dead deliveries; {overview['last_hour']} in the last hour; {status['alerts']} open alerts")
    print("deliveries: " + (", ".join(f"{state} {count}" for state, count in sorted(status["deliveries"].items()))
                            or "none"))
    print(f"\n{'party':<18}{'type':<22}{'received':>9}{'delivered':>10}{'refused':>8}{'dead':>6}"
          f"{'awaiting':>9}{'overdue':>8}")
    for row in overview["rows"]:
        print(f"{row['party']:<18}{row['type']:<22}{row['received']:>9}{row['delivered']:>10}{row['rejected']:>8}"
              f"{row['dead']:>6}{row['awaiting']:>9}{row['overdue']:>8}")
    if overview["endpoints"]:
        print()
        for endpoint in overview["endpoints"]:
            state = "not reporting" if endpoint["stale"] else "connected" if endpoint["up"] else "DOWN"
            print(f"endpoint {endpoint['endpoint']:<18} {state:<14} last contact {endpoint['last_contact'][:19] or '-'}"
                  f"  backlog {endpoint['backlog']}" + (f"  {endpoint['last_error']}" if endpoint["last_error"] else ""))
    print(f"\nreceipts: {status['receipts_waiting']} waiting, {len(status['receipts_overdue'])} overdue, "
          f"{len(status['receipts_late'])} arrived late")
    for row in status["receipts_overdue"]:
        print(f"  OVERDUE  {row['receipt_type']} from {row['endpoint']} for document {row['document_id']} "
              f"(route {row['route']}), due {row['due_at']}")
    for row in status["receipts_late"]:
        print(f"  LATE     {row['receipt_type']} from {row['endpoint']} for document {row['document_id']}: "
              f"receipt {row['receipt_id']}")
    for review in status["reviews"]:
        print(f"  review {review['gather_key']} ({review['state']}): {review['summary']}")
    drift = status["drift"]
    print(f"\nschema drift: {drift['fields']} field{'s' if drift['fields'] != 1 else ''} authorities sent that the "
          f"schemas do not describe" + (" (the console's Drift page has them all)" if drift["fields"] else ""))
    for group in drift["groups"][:10]:
        print(f"  {group['type']} from {group['endpoint']}: " + ", ".join(
            f"{field['path'].rpartition('/')[2]} ({field['kind']}, {field['documents']} "
            f"document{'s' if field['documents'] != 1 else ''})"
            for field in group["fields"][:5]) + (" ..." if len(group["fields"]) > 5 else ""))
    return 0


def cmd_audit(args) -> int:
    """Recompute the journal's hash chain; name the first broken event."""
    assembly = assemble(args.config, args.data_dir)
    journal = _open_journal(assembly)
    if journal is None:
        return 1
    try:
        report = journal.audit()
        where = journal.where
    finally:
        journal.close()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    elif report["broken"] is None:
        print(f"audit: the chain of {report['events']:,} events in {where} is whole")
    else:
        broken = report["broken"]
        print(f"audit: BROKEN at event {broken['seq']} ({broken['kind']} of document {broken['document_id']}, "
              f"{broken['at']}): {broken['why']}; the {report['events']:,} events before it are whole")
    return 0 if report["broken"] is None else 3


def _story(journal: Journal, document_id: str) -> dict:
    return {"document": journal.document(document_id), "events": journal.events(document_id),
            "deliveries": journal.deliveries(document_id)}


def cmd_lint(args) -> int:
    try:
        assembly = assemble(args.config, args.data_dir)
    except ConfigError as exc:
        print(f"lint: {exc}", file=sys.stderr)
        return 1
    problems = consistency_problems(assembly)
    try:
        results = run_all(assembly.route_tests, assembly.context)
    except ConfigError as exc:
        problems.append(str(exc))
        results = []
    problems += [f"{r.file}: test {r.name!r}: {p}" for r in results for p in r.problems]
    for problem in problems:
        print(f"lint: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"lint: ok: {len(assembly.endpoints)} endpoints, {len(assembly.router.rules)} routes, "
          f"{len(assembly.catalog.kinds)} catalog entries, {len(assembly.catalog.maps)} maps, "
          f"{len(results)} route tests passed")
    return 0


def cmd_test_routes(args) -> int:
    assembly = assemble(args.config, args.data_dir)
    results = run_all(assembly.route_tests, assembly.context)
    for result in results:
        print(f"{'ok  ' if result.passed else 'FAIL'} {Path(result.file).name}: {result.name}")
        for problem in result.problems:
            print(f"       {problem}")
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed or not results else 0


# (title, [(a sample file or folder under samples/, the endpoint whose OutBox it is dropped in)])
DEMO_ROUNDS = (
    ("an enterprise sends its documents, one over the electronic port (DXP), some of them bad",
     [("etps-shenyang", "etps-shenyang"), ("dxp/SAS121-pass-over-dxp.xml", "etps-shenyang"),
      ("invalid/INV101-several-errors.xml", "etps-shenyang"), ("invalid/INV101-missing-message-id.xml",
                                                                "etps-shenyang"),
      ("invalid/INV101-wrong-namespace.xml", "etps-shenyang"), ("invalid/FOO999-unknown-type.xml", "etps-shenyang"),
      ("invalid/SAS121-bad-iotypecd.xml", "etps-shenyang"), ("hostile", "etps-shenyang"),
      ("catalog/REVIEW101-hub-application.xml", "etps-shenyang")]),
    ("customs and the zone system answer with receipts, each finding its original; one carries a field "
     "the hub has never seen, one is of a type the catalog does not list: both are read, and reported",
     [("customs", "customs"), ("zone", "zone"), ("tolerated/SAS200-result-type-spelled-right.xml", "zone"),
      ("catalog/SAS299-customs-unknown-family.xml", "zone")]),
    ("H2010 clears the declaration of the zone inventory list: the zone system is told to close it",
     [("h2010/DEC_RESULT-cleared.xml", "h2010")]),
    ("the six agencies give their verdicts on the network-access application: one decision goes back",
     [(f"review/{agency.upper()}-verdict.xml", f"agency-{agency}")
      for agency in ("customs", "tax", "safe", "commerce", "market", "ciq")]),
    ("the enterprise's client sends its import inventory list again", [("etps-shenyang/INV101-import.xml",
                                                                         "etps-shenyang")]),
)


def cmd_schemas(args) -> int:
    """Every type in the catalog: its dialects and forms with their validation policy, keys, rules,
    maps and the routes that take it."""
    assembly = assemble(args.config, args.data_dir)
    catalog = assembly.catalog
    rows = []
    for type_ in sorted(catalog.types()):
        kinds = [k for k in catalog.kinds if k.type == type_]
        routes = [r.name for r in assembly.router.rules if type_matches(r.types, type_)
                  or any(type_matches((type_,), t) for t in r.types)]
        maps = sorted(m.name for m in catalog.maps.values() if type_ in (m.source[0], m.target[0]))
        rows.append({
            "type": type_,
            "family": bool(kinds[0].family),
            "forms": [{"dialect": k.dialect, "policy": k.policy, "roots": list(k.roots or (k.root,)),
                       "namespaces": list(k.forms), "root": k.root, "namespace": k.namespace, "body": k.body,
                       "xsd": str(k.xsd.relative_to(catalog_dir(catalog))), "needs": list(k.needs),
                       "results": {path: codes.name for path, codes in k.results}, "rules": bool(k.rules),
                       "items": k.items} for k in kinds],
            "keys": sorted({name for k in kinds for name, _ in k.keys} | ({"business_id"} if any(
                k.business_id for k in kinds) else set())),
            "maps": maps,
            "routes": routes,
        })
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        print(row["type"] + ("  (a family: any type of this pattern the catalog does not list)" if row["family"] else ""))
        for form in row["forms"]:
            forms = ["any namespace" if n == catalogs.ANY_NAMESPACE else "{" + n + "}" if n else "no namespace"
                     for n in form["namespaces"]]
            rules = ", with business rules" if form["rules"] else ""
            rules += f", large ones read in slices of {form['items']}" if form["items"] else ""
            print(f"  {form['dialect']:<10} {form['policy']:<8} {' or '.join(form['roots'])} / {form['body']}, "
                  f"{' or '.join(forms)}  ({form['xsd']}{rules})")
            if form["needs"]:
                print(f"             needs: {'; '.join(form['needs'])}")
        print(f"  keys:   {', '.join(row['keys']) or '-'}")
        print(f"  maps:   {', '.join(row['maps']) or '-'}")
        print(f"  routes: {', '.join(row['routes']) or '- (refused as unroutable)'}")
    print("\nstrict: what the hub sends on; every element must be known and valid (any order).\n"
          "tolerant: what an authority sends; only the fields the hub needs refuse it, anything else "
          "unknown is reported as schema drift.")
    return 0


def catalog_dir(catalog: catalogs.Catalog) -> Path:
    return Path(catalog.source).parent


def cmd_demo(args) -> int:
    """Feed every bundled sample through the embedded default and tell what happened to each."""
    data_dir = args.data_dir or HOME / "var" / "demo"
    marker = data_dir / ".hub-demo"
    if data_dir.exists() and any(data_dir.iterdir()) and not marker.exists():
        print(f"hub: {data_dir} is not empty and is not a demo folder; the demo starts from an empty one",
              file=sys.stderr)
        return 2
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    marker.touch()
    assembly = assemble(args.config, data_dir)
    log_path = data_dir / "hub.log"
    with open(log_path, "w", encoding="utf-8") as log_file:
        logs.configure("json", "info", stream=log_file)
        engine = open_engine(assembly)
        journal = engine.journal
        try:
            print(f"Customs exchange hub demo: {len(assembly.endpoints)} parties on local folders under {data_dir}")
            shown: set[str] = set()
            for number, (title, drops) in enumerate(DEMO_ROUNDS, 1):
                print(f"\n== Round {number}: {title}")
                for relative, sender in drops:
                    source = HOME / "samples" / relative
                    for sample in sorted(source.glob("*.xml")) if source.is_dir() else [source]:
                        prefix = "" if sample.parent.name == sender else f"{sample.parent.name}-"
                        shutil.copyfile(sample, engine.inbound[sender].outbox / f"{prefix}{sample.name}")
                engine.run(once=True)
                earlier = []
                for document in journal.documents():
                    if document["document_id"] not in shown:
                        shown.add(document["document_id"])
                        _print_demo_document(journal, document, data_dir, shown)
                    else:
                        earlier.append(document)
                for document in earlier:  # an earlier document's later deliveries: the joint review's decision
                    for delivery in journal.deliveries(document["document_id"]):
                        if delivery["delivery_id"] not in shown:
                            shown.add(delivery["delivery_id"])
                            decided = [e["reason"] for e in journal.events(document["document_id"])
                                       if e["kind"] == "DECIDED"]
                            print(f"  the {document['message_type']} {document['document_id']}: "
                                  f"{decided[-1] if decided else ''}\n      {_demo_delivery(delivery)}")
        finally:
            engine.close()
    print(f"\nEvery step is in the journal ({assembly.settings.journal_path}) and in the JSON log ({log_path}).")
    print("One business number end to end (the enterprise's own number of the import inventory list): the list,")
    print("customs' receipts (the second found through the numbers the first assigned), the clearance result")
    print("and the zone's closing notice made from it:")
    trace = ["--config", str(args.config), "--data-dir", str(data_dir), "trace", "HC2026112800001"]
    print(f"$ hub {' '.join(trace[2:])}")
    main(trace)
    return 0


def _demo_delivery(delivery: dict) -> str:
    what = {"error-receipt": "answer", "hub-document": "decision"}.get(delivery["kind"], "copy")
    via = f" via map {delivery['map']}" if delivery["map"] else ""
    return f"{delivery['state']:<9} {what} to {delivery['endpoint']}/InBox/{delivery['name']}{via}"


def _print_demo_document(journal: Journal, document: dict, data_dir: Path, shown: set[str]) -> None:
    label = f"{document['endpoint']}/OutBox/{document['source_name']}"
    kind = document["message_type"] or "?"
    print(f"  {label}  [{kind}]  document {document['document_id']}")
    for delivery in journal.deliveries(document["document_id"]):
        shown.add(delivery["delivery_id"])
        print(f"      {_demo_delivery(delivery)}")
    for event in journal.events(document["document_id"]):
        if event["kind"] == "SCHEMA_DRIFT":
            print(f"      {event_text(event)}")
    if document["state"] in ("REJECTED", "FAILED", "DUPLICATE"):
        print(f"      {document['state']}: {document['reason']}")
        for event in journal.events(document["document_id"]):
            issues = event["detail"].get("issues", [])
            if len(issues) > 1 or (issues and issues[0]["message"] != event["reason"]):
                for issue in issues:
                    print(f"        - {_where(issue)}{issue['message']}")


def _where(issue: dict) -> str:
    """'line 12 /Signature/...: ' for an issue that knows where it is."""
    parts = [f"line {issue['line']}" if issue.get("line") else "", issue.get("path") or ""]
    where = " ".join(part for part in parts if part)
    return f"{where}: " if where else ""


# -- entry point -------------------------------------------------------------


def _configure_logs(args, settings: Settings) -> None:
    format_ = "pretty" if getattr(args, "pretty", False) else settings.log_format
    logs.configure(format_, settings.log_level)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="hub", description="Customs document exchange hub")
    top.add_argument("--config", type=Path, default=Path(os.environ.get("HUB_CONFIG", DEFAULT_CONFIG)),
                     help="the hub's settings file (default: $HUB_CONFIG or config/hub.toml)")
    top.add_argument("--data-dir", type=Path, default=None,
                     help="use this folder for the journal and local endpoints instead of the config's data_dir")
    commands = top.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the hub")
    run.add_argument("--once", action="store_true", help="process everything waiting, then exit 0")
    run.add_argument("--pretty", action="store_true", help="readable log lines instead of JSON")
    run.set_defaults(handler=cmd_run)

    validate = commands.add_parser("validate", help="check documents against their schemas")
    validate.add_argument("files", nargs="+")
    validate.add_argument("--json", action="store_true")
    validate.set_defaults(handler=cmd_validate)

    inspect = commands.add_parser("inspect", help="print a document's envelope facts as JSON")
    inspect.add_argument("file")
    inspect.set_defaults(handler=cmd_inspect)

    route = commands.add_parser("route", help="show where a document would go, without sending it")
    route.add_argument("file")
    route.add_argument("--from", dest="sender", help="the endpoint it arrives on (default: the owner of its sender id)")
    route.set_defaults(handler=cmd_route)

    trace = commands.add_parser("trace", help="a document's events, by document, message or business id")
    trace.add_argument("id")
    trace.add_argument("--json", action="store_true")
    trace.set_defaults(handler=cmd_trace)

    failed = commands.add_parser("failed", help="dead deliveries and refused documents")
    failed.add_argument("--json", action="store_true")
    failed.set_defaults(handler=cmd_failed)

    resubmit = commands.add_parser("resubmit", help="send a dead delivery or a refused document again")
    resubmit.add_argument("id", help="a delivery id, or a document id (its dead deliveries, or the refused document)")
    resubmit.add_argument("--reason", required=True, help="why: journaled with the resubmission")
    resubmit.add_argument("--by", default=_current_user(),
                          help="who asks (default: the user running the command)")
    resubmit.add_argument("--file", help="a corrected version of a refused document, journaled as a new version")
    resubmit.add_argument("--json", action="store_true")
    resubmit.set_defaults(handler=cmd_resubmit)

    console = commands.add_parser("console", help="serve the operators' web console (127.0.0.1 by default)")
    console.add_argument("--port", type=int, help="instead of [console] port")
    console.add_argument("--pretty", action="store_true", help="readable log lines instead of JSON")
    console.set_defaults(handler=cmd_console)

    console_user = commands.add_parser("console-user", help="add a console user or change one's role or password")
    console_user.add_argument("name")
    console_user.add_argument("--role", choices=("viewer", "operator", "admin"), required=True)
    console_user.add_argument("--password-env", help="read the password from this environment variable")
    console_user.set_defaults(handler=cmd_console_user)

    reload = commands.add_parser("reload", help="check the configuration, then have the running hub take it up")
    reload.set_defaults(handler=cmd_reload)

    endpoint = commands.add_parser("endpoint", help="add an endpoint, or check that one works")
    endpoint_commands = endpoint.add_subparsers(dest="endpoint_command", required=True)
    add = endpoint_commands.add_parser("add", help="write a new endpoint file from a template")
    add.add_argument("name")
    add.add_argument("--party", required=True, choices=("enterprise", "customs", "zone", "agency"))
    add.add_argument("--transport", required=True, choices=("local", "sftp", "amqp"))
    add.add_argument("--contact", required=True)
    add.add_argument("--dialect", required=True)
    add.add_argument("--description", default="")
    add.add_argument("--ids", nargs="+", required=True, help="the sender ids it may use")
    add.add_argument("--may-send", nargs="*", default=[])
    add.add_argument("--may-receive", nargs="*", default=[])
    add.add_argument("--owes", nargs="*", default=[], metavar="RECEIPT:FOR:WITHIN",
                     help="a receipt it owes for a type it receives, e.g. REVIEW121:REVIEW111:30m")
    add.add_argument("--max-attempts", type=int, default=8)
    add.add_argument("--folder")
    add.add_argument("--host")
    add.add_argument("--port", type=int)
    add.add_argument("--username")
    add.add_argument("--private-key-file")
    add.add_argument("--accept-fingerprint", help="pin this SSH host key (shown by a first run without it)")
    add.add_argument("--virtual-host")
    add.add_argument("--password-env")
    add.add_argument("--password-file")
    add.add_argument("--receive-queue")
    add.add_argument("--send-exchange")
    add.add_argument("--send-routing-key")
    add.add_argument("--send-queue")
    add.add_argument("--no-declare", action="store_true", help="the broker's operators own the queues")
    add.add_argument("--force", action="store_true")
    add.set_defaults(handler=cmd_endpoint_add)
    check = endpoint_commands.add_parser("check", help="self-test an endpoint's connection, step by step")
    check.add_argument("name")
    check.add_argument("--json", action="store_true")
    check.add_argument("--by", default=_current_user(), help="who runs it (journaled)")
    check.add_argument("--canary", metavar="FILE", help="also run this test document through the hub's checks "
                                                        "as if the endpoint sent it (nothing is delivered)")
    check.set_defaults(handler=cmd_endpoint_check)

    status = commands.add_parser("status", help="documents and deliveries by state, overdue receipts, open reviews")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=cmd_status)

    audit = commands.add_parser("audit", help="check the journal")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="recompute the hash chain and name the first broken event")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=cmd_audit)

    lint = commands.add_parser("lint", help="check config, routes and schemas without I/O")
    lint.set_defaults(handler=cmd_lint)

    schemas = commands.add_parser("schemas", help="every type with its dialects, keys, maps and routes")
    schemas.add_argument("--json", action="store_true")
    schemas.set_defaults(handler=cmd_schemas)

    test_routes = commands.add_parser("test-routes", help="run the route tests beside the rules")
    test_routes.set_defaults(handler=cmd_test_routes)

    demo = commands.add_parser("demo", help="feed the bundled samples through the embedded default")
    demo.set_defaults(handler=cmd_demo)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not getattr(args, "pretty", False):
        logs.configure("json", "warning")  # commands other than run only log problems
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"hub: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
