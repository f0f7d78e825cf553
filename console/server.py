"""The console's HTTP server: pages, the JSON API, live figures (server-sent events) and /metrics.

Standard library HTTP (one thread per request) behind 127.0.0.1 by default; put a TLS reverse
proxy in front to serve it further. Every response carries a strict Content-Security-Policy
(scripts only from /static), every change needs an operator's session and its CSRF token (or,
for API clients, HTTP Basic credentials with a JSON body, which a browser cannot forge across
sites), and every action is journaled with its user and reason.
"""

from __future__ import annotations

import base64
import hmac
import json
import mimetypes
import re
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from lxml import etree

from exchange import logs
from exchange.config import ConsoleSettings
from exchange.errors import HubError
from exchange.trace import event_text

from .auth import Session, Sessions, User, check_password, load_users
from .data import ReadModel

HERE = Path(__file__).resolve().parent
COOKIE = "hub_session"
MAX_FORM_BYTES = 32 * 1024 * 1024  # an edited document comes in a form (only a signed-in operator's)
SMALL_FORM_BYTES = 64 * 1024  # every other form, and anything read before the user is known
MAX_STREAMS, MAX_STREAMS_PER_SESSION = 64, 3  # live-figure connections
_NEXT = re.compile(r"/(?![/\\])[^\x00-\x20\\]*")
_ID = re.compile(r"^[0-9a-f]{32}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Forbidden(Exception):
    pass


class Console:
    """Everything a request needs: the read model, users, sessions, templates, and how to act."""

    def __init__(self, settings: ConsoleSettings, read: ReadModel, act, metrics=None):
        self.settings = settings
        self.read = read
        self.act = act  # console.actions.Actions: resubmit, acknowledge (their own journal connection)
        self.metrics = metrics  # the running engine's in-process figures (latencies), when there is one
        self.sessions = Sessions(settings.session_hours * 3600)
        self.throttle = Throttle()
        self.streams = Streams()
        self.users_file = settings.users
        self._users: dict = {}
        self._users_mtime = -1.0
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self.templates.filters["short"] = lambda value: (value or "")[:19].replace("T", " ")
        self.templates.filters["what"] = event_text
        self.log = logs.get().bind(component="console")

    def users(self) -> dict:
        """The users file, read again when it changes (adding a user needs no restart)."""
        if self.users_file is None:
            return {}
        try:
            mtime = self.users_file.stat().st_mtime
        except OSError:
            return {}
        if mtime != self._users_mtime:
            self._users, self._users_mtime = load_users(self.users_file), mtime
        return self._users

    def authenticate(self, name: str, password: str) -> User | None:
        entry = self.users().get(name)
        if entry is None:
            check_password(password, "scrypt$16384$8$1$00$00")  # same time whether or not the name exists
            return None
        user, hashed = entry
        return user if check_password(password, hashed) else None


class Throttle:
    """At most 10 failed sign-ins per address in 5 minutes; after that, refused without a check."""

    def __init__(self, limit: int = 10, window: float = 300.0):
        self.limit, self.window = limit, window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def attempt(self, address: str) -> bool:
        """Count an attempt before checking it (so parallel attempts count too); False: refused."""
        with self._lock:
            now = time.monotonic()
            for key in [k for k, times in self._failures.items() if not times or times[-1] < now - self.window]:
                del self._failures[key]
            recent = self._failures.setdefault(address, [])
            if len(recent) >= self.limit:
                return False
            recent.append(now)
            return True

    def succeeded(self, address: str) -> None:
        with self._lock:
            if self._failures.get(address):
                self._failures[address].pop()


class Streams:
    """Live-figure connections, capped overall and per session."""

    def __init__(self):
        self._lock = threading.Lock()
        self._per: dict[int, int] = {}

    def open(self, session) -> bool:
        with self._lock:
            key = id(session)
            if sum(self._per.values()) >= MAX_STREAMS or self._per.get(key, 0) >= MAX_STREAMS_PER_SESSION:
                return False
            self._per[key] = self._per.get(key, 0) + 1
            return True

    def close(self, session) -> None:
        with self._lock:
            key = id(session)
            self._per[key] = self._per.get(key, 1) - 1
            if self._per[key] <= 0:
                del self._per[key]


class Handler(BaseHTTPRequestHandler):
    server_version = "customs-hub-console"
    protocol_version = "HTTP/1.1"
    console: Console  # set on the subclass made per server

    # -- plumbing ------------------------------------------------------------

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # requests are not logged line by line; actions are journaled

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        headers = {**SECURITY_HEADERS, **(headers or {})}
        if any("\r" in str(v) or "\n" in str(v) for v in headers.values()):
            raise ValueError("a header value with a line break")  # never split a response
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _html(self, template: str, status: int = 200, **context) -> None:
        session = getattr(self, "session", None)
        page = self.console.templates.get_template(template).render(
            user=session.user if session else None, csrf=session.csrf if session else "", path=self.path,
            **context)
        self._send(status, page.encode("utf-8"), "text/html; charset=utf-8")

    def _json(self, value, status: int = 200) -> None:
        self._send(status, json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"),
                   "application/json; charset=utf-8")

    def _redirect(self, location: str, headers: dict | None = None) -> None:
        self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": location, **(headers or {})})

    def _query(self) -> dict[str, str]:
        query = urllib.parse.urlsplit(self.path).query
        return {k: v[-1] for k, v in urllib.parse.parse_qs(query, keep_blank_values=False).items()}

    def _form(self, limit: int = SMALL_FORM_BYTES) -> dict[str, list[str]]:
        self.close_connection = True  # whatever is not read here is not read at all
        text = self.headers.get("Content-Length") or "0"
        if not text.isascii() or not text.isdigit():
            raise Forbidden("a request without a valid Content-Length")
        length = int(text)
        if length > limit:
            raise Forbidden(f"the form is too large ({length:,} bytes; at most {limit:,})")
        raw = self.rfile.read(length) if length else b""
        try:
            if (self.headers.get("Content-Type") or "").startswith("application/json"):
                data = json.loads(raw or b"{}")
                if not isinstance(data, dict):
                    raise Forbidden("a JSON request is an object")
                return {str(k): ([str(x) for x in v] or [""]) if isinstance(v, list) else [str(v)]
                        for k, v in data.items()}
            return urllib.parse.parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=5000)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Forbidden(f"an unreadable form: {exc}") from exc

    def _session(self) -> Session | None:
        cookie = SimpleCookie(self.headers.get("Cookie") or "")
        sid = cookie[COOKIE].value if COOKIE in cookie else None
        session = self.console.sessions.get(sid)
        if session is None:
            return None
        entry = self.console.users().get(session.user.name)
        if entry is None or entry[0] != session.user or entry[1] != session.password_hash:
            self.console.sessions.drop(sid)  # removed, demoted or given a new password: signed out
            return None
        return session

    def _basic(self) -> User | None:
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return None
        try:
            name, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        address = self.client_address[0]
        if not self.console.throttle.attempt(address):
            raise Forbidden("too many failed sign-ins from this address; wait a few minutes")
        user = self.console.authenticate(name, password)
        if user is None:
            self.console.act.audit("SIGN_IN_FAILED", name or "(no name)", "wrong name or password (API)",
                                   {"address": address})
        else:
            self.console.throttle.succeeded(address)
        return user

    def _who(self, role: str) -> User | None:
        """The user, if allowed ``role`` (a page or a read)."""
        self.session = self._session()
        user = self.session.user if self.session else self._basic()
        if user is not None and not user.may(role):
            raise Forbidden(f"{user.name} is a {user.role}; this needs an {role}")
        return user

    def _acting(self, role: str, large: bool = False) -> tuple[User | None, dict]:
        """For a change: the user (checked before the body is read), the form, and its CSRF token
        (or, for an API client, Basic credentials with a JSON body)."""
        user = self._who(role)
        if user is None:
            self.close_connection = True
            return None, {}
        form = self._form(MAX_FORM_BYTES if large else SMALL_FORM_BYTES)
        origin = self.headers.get("Origin")
        if origin and urllib.parse.urlsplit(origin).netloc != self.headers.get("Host"):
            raise Forbidden("a request from another site")
        if self.session is not None:
            token = (form.get("csrf", [""])[0] or self.headers.get("X-CSRF-Token", "")).encode()
            if not hmac.compare_digest(token, self.session.csrf.encode()):
                raise Forbidden("the form is stale or forged (CSRF token); reload the page")
        elif not (self.headers.get("Content-Type") or "").startswith("application/json"):
            raise Forbidden("API changes are sent as JSON")
        return user, form

    def _signin_required(self) -> None:
        if self.path.startswith("/api/") or self.path.startswith("/metrics"):
            self._send(HTTPStatus.UNAUTHORIZED, b'{"error": "sign in"}', "application/json",
                       {"WWW-Authenticate": 'Basic realm="customs-hub"'})
        else:
            self._redirect("/login?next=" + urllib.parse.quote(self.path))

    # -- dispatch ------------------------------------------------------------

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        path = urllib.parse.urlsplit(self.path).path
        try:
            for pattern, handler_method, name in ROUTES:
                match = pattern.match(path)
                if match and handler_method == method:
                    getattr(self, name)(*match.groups())
                    return
            self._send(404, b"not found", "text/plain")
        except Forbidden as exc:
            if path.startswith("/api/") or path == "/metrics":
                self._json({"error": str(exc)}, 403)
            else:
                self._html("error.html", 403, title="Not allowed", message=str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # noqa: BLE001 - one request's failure must not stop the console
            self.console.log.exception("console.request_failed", path=path, error=f"{type(exc).__name__}: {exc}")
            try:
                self._send(500, b"internal error (logged)", "text/plain")
            except OSError:
                pass

    # -- signing in ----------------------------------------------------------

    def get_login(self) -> None:
        self.session = None
        self._html("login.html", next=self._query().get("next", "/"), failed=False)

    def post_login(self) -> None:
        form = self._form(4096)
        name, password = form.get("name", [""])[0], form.get("password", [""])[0]
        target = form.get("next", ["/"])[0]
        target = target if _NEXT.fullmatch(target) else "/"  # a path of this site, nothing else
        self.session = None
        address = self.client_address[0]
        if not self.console.throttle.attempt(address):
            return self._html("login.html", 429, next=target, failed=True)
        user = self.console.authenticate(name, password)
        if user is not None:
            self.console.throttle.succeeded(address)
        if user is None:
            self.console.act.audit("SIGN_IN_FAILED", name or "(no name)", "wrong name or password",
                                   {"address": self.client_address[0]})
            time.sleep(0.5)
            self._html("login.html", 401, next=target, failed=True)
            return
        sid, session = self.console.sessions.create(user, self.console.users()[user.name][1])
        self.console.act.audit("SIGNED_IN", user.name, "", {"role": user.role, "address": self.client_address[0]})
        secure = "; Secure" if self.console.settings.secure_cookies else ""
        self._redirect(target, {"Set-Cookie": f"{COOKIE}={sid}; HttpOnly; SameSite=Strict; Path=/{secure}"})

    def post_logout(self) -> None:
        user, _ = self._acting("viewer")
        cookie = SimpleCookie(self.headers.get("Cookie") or "")
        self.console.sessions.drop(cookie[COOKIE].value if COOKIE in cookie else None)
        if user is not None:
            self.console.act.audit("SIGNED_OUT", user.name)
        self._redirect("/login", {"Set-Cookie": f"{COOKIE}=; Max-Age=0; Path=/"})

    # -- pages ---------------------------------------------------------------

    def get_overview(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        self._html("overview.html", title="Overview", overview=self.console.read.overview())

    def get_events(self) -> None:
        """Server-sent events: the live figures, whenever they change (checked every second)."""
        if self.command == "HEAD":
            return self._send(405, b"", "text/plain")
        if self._who("viewer") is None:
            return self._signin_required()
        if not self.console.streams.open(self.session):
            return self._send(429, b"too many live connections", "text/plain")
        try:
            self._stream()
        finally:
            self.console.streams.close(self.session)

    def _stream(self) -> None:
        self.send_response(200)
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        last = None
        deadline = time.monotonic() + 3600  # the browser reconnects
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            figures = self.console.read.live()
            message = b": keep-alive\n\n" if figures == last else (
                b"data: " + json.dumps(figures).encode() + b"\n\n")
            last = figures
            self.wfile.write(message)
            self.wfile.flush()
            self.server.stopping.wait(1.0)

    def get_flows(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        flows = self.console.read.flows()
        self._html("flows.html", title="Flows", flows=flows, layout=_layout(flows["nodes"]))

    def get_search(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        query = self._query()
        filters = {key: query.get(key, "").strip() for key in ("q", "type", "state", "sender", "source",
                                                                "destination", "since", "until", "before")}
        results = self.console.read.search(q=filters["q"], type_=filters["type"], state=filters["state"],
                                           sender=filters["sender"], source=filters["source"],
                                           destination=filters["destination"], since=filters["since"],
                                           until=filters["until"], before=filters["before"])
        more = urllib.parse.urlencode({**{k: v for k, v in filters.items() if v}, "before": results["next"]})
        self._html("search.html", title="Search", filters=filters, results=results, more=more)

    def get_document(self, document_id: str) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        page = self.console.read.document(document_id) if _ID.match(document_id) else None
        if page is None:
            return self._html("error.html", 404, title="Not found", message=f"no document {document_id}")
        original = b""
        if page["can_resubmit"] and page["document"]["sha256"] and page["document"]["size"] < 1024 * 1024:
            original = self.console.read.body(document_id, page["document"]["sha256"]) or b""
        try:
            text, editable = original.decode("utf-8"), True
        except UnicodeDecodeError:  # edited as text it would lose its bytes: corrected outside instead
            text, editable = "", False
        self._html("document.html", title=f"Document {document_id}", page=page, original=text, editable=editable)

    def get_body(self, document_id: str, digest: str) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        body = self.console.read.body(document_id, digest) if _ID.match(document_id) and _SHA.match(digest) else None
        if body is None:
            return self._send(404, b"not found", "text/plain")
        if self._query().get("download"):
            return self._send(200, body, "application/xml", {
                "Content-Disposition": f'attachment; filename="{document_id}-{digest[:12]}.xml"'})
        self._html("body.html", title="Body", document_id=document_id, digest=digest, text=_readable(body))

    def get_failures(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        self._html("failures.html", title="Failures", failures=self.console.read.failures(), outcome=None)

    def get_alerts(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        self._html("alerts.html", title="Alerts", alerts=self.console.read.alerts())

    def get_drift(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        self._html("drift.html", title="Schema drift", drift=self.console.read.drift())

    def api_drift(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        self._json(self.console.read.drift())

    def get_audit(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        self._html("audit.html", title="Audit", entries=self.console.read.audit_log())

    def get_endpoints(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        self._html("endpoints.html", title="Endpoints",
                   endpoints=self.console.read.endpoints(self.console.act.context.endpoints), result=None)

    def post_endpoint_check(self, name: str) -> None:
        user, _ = self._acting("admin")
        if user is None:
            return self._signin_required()
        result = self.console.act.self_test(urllib.parse.unquote(name), by=user.name)
        self._html("endpoints.html", title="Endpoints",
                   endpoints=self.console.read.endpoints(self.console.act.context.endpoints), result=result)

    def get_static(self, name: str) -> None:
        path = HERE / "static" / name
        if "/" in name or not path.is_file():
            return self._send(404, b"not found", "text/plain")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._send(200, path.read_bytes(), kind, {"Cache-Control": "max-age=300"})

    # -- actions -------------------------------------------------------------

    def post_resubmit_document(self, document_id: str) -> None:
        user, form = self._acting("operator", large=True)
        if user is None:
            return self._signin_required()
        reason = form.get("reason", [""])[0].strip()
        edited = form.get("body", [""])[0]
        corrected = edited.encode("utf-8") if edited.strip() and form.get("edited", [""])[0] == "1" else None
        if corrected is not None:  # the edit box shows UTF-8 text; a declaration saying otherwise would lie
            corrected = re.sub(rb"^(<\?xml[^>]*encoding=[\"'])[^\"']*", rb"\1UTF-8", corrected, count=1)
        outcome = self.console.act.resubmit([document_id], by=user.name, reason=reason, corrected=corrected)
        self._html("outcome.html", title="Resubmitted", outcome=outcome, back=f"/documents/{document_id}")

    def post_resubmit_failures(self) -> None:
        user, form = self._acting("operator")
        if user is None:
            return self._signin_required()
        reason = form.get("reason", [""])[0].strip()
        ids = [i for i in form.get("id", []) if i]
        group = form.get("group", [""])[0]
        if group:
            current = [item["id"] for g in self.console.read.failures()["groups"] if g["id"] == group
                       for item in g["items"]]
            if form.get("confirmed", [""])[0] != "yes":
                return self._html("confirm.html", title="Confirm", group=group, ids=current, reason=reason)
            # only what was shown and confirmed, and is still failed: not what arrived since
            ids = [i for i in ids if i in set(current)]
        outcome = self.console.act.resubmit(ids, by=user.name, reason=reason)
        self._html("outcome.html", title="Resubmitted", outcome=outcome, back="/failures")

    def post_ack(self, alert_id: str) -> None:
        user, form = self._acting("operator")
        if user is None:
            return self._signin_required()
        self._acknowledge(urllib.parse.unquote(alert_id), user, form.get("reason", [""])[0].strip())
        self._redirect("/alerts")

    def _acknowledge(self, alert_id: str, user: User, reason: str) -> None:
        if not reason:
            raise Forbidden("an acknowledgement needs a reason")
        if alert_id not in {a["id"] for a in self.console.read.alerts()["alerts"]}:
            raise Forbidden(f"no alert {alert_id} is raised now")
        self.console.act.acknowledge(alert_id, by=user.name, reason=reason)

    # -- JSON API (the same data and rules as the pages) ---------------------

    def api_overview(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        self._json(self.console.read.overview())

    def api_flows(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        self._json(self.console.read.flows())

    def api_search(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        q = self._query()
        self._json(self.console.read.search(q=q.get("q", ""), type_=q.get("type", ""), state=q.get("state", ""),
                                            sender=q.get("sender", ""), source=q.get("source", ""),
                                            destination=q.get("destination", ""), since=q.get("since", ""),
                                            until=q.get("until", ""), before=q.get("before", "")))

    def api_document(self, document_id: str) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        page = self.console.read.document(document_id) if _ID.match(document_id) else None
        self._json(page if page is not None else {"error": "not found"}, 200 if page is not None else 404)

    def api_failures(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        self._json(self.console.read.failures())

    def api_alerts(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        self._json(self.console.read.alerts())

    def api_audit(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        self._json(self.console.read.audit_log())

    def api_resubmit(self) -> None:
        user, form = self._acting("operator", large=True)
        if user is None:
            return self._signin_required()
        corrected = form.get("body", [""])[0].encode("utf-8") or None
        if corrected is not None and len(form.get("ids", [])) != 1:
            return self._json({"error": "a corrected body replaces one document: give exactly one id"}, 400)
        self._json(self.console.act.resubmit(form.get("ids", []), by=user.name,
                                             reason=form.get("reason", [""])[0].strip(), corrected=corrected))

    def api_ack(self) -> None:
        user, form = self._acting("operator")
        if user is None:
            return self._signin_required()
        self._acknowledge(form.get("id", [""])[0], user, form.get("reason", [""])[0].strip())
        self._json({"acknowledged": form.get("id", [""])[0]})

    def get_metrics(self) -> None:
        if self._who("viewer") is None:
            return self._signin_required()
        from .metrics import render

        text = render(self.console.read.metrics(), self.console.metrics)
        self._send(200, text.encode(), "text/plain; version=0.0.4; charset=utf-8")


ROUTES = [(re.compile(f"^{pattern}$"), method, name) for pattern, method, name in (
    ("/", "GET", "get_overview"),
    ("/login", "GET", "get_login"),
    ("/login", "POST", "post_login"),
    ("/logout", "POST", "post_logout"),
    ("/events", "GET", "get_events"),
    ("/flows", "GET", "get_flows"),
    ("/search", "GET", "get_search"),
    ("/documents/([0-9a-z]+)", "GET", "get_document"),
    ("/documents/([0-9a-z]+)/bodies/([0-9a-f]+)", "GET", "get_body"),
    ("/documents/([0-9a-z]+)/resubmit", "POST", "post_resubmit_document"),
    ("/failures", "GET", "get_failures"),
    ("/failures/resubmit", "POST", "post_resubmit_failures"),
    ("/alerts", "GET", "get_alerts"),
    ("/alerts/([^/]+)/ack", "POST", "post_ack"),
    ("/audit", "GET", "get_audit"),
    ("/drift", "GET", "get_drift"),
    ("/endpoints", "GET", "get_endpoints"),
    ("/endpoints/([a-z0-9-]+)/check", "POST", "post_endpoint_check"),
    ("/static/([A-Za-z0-9._-]+)", "GET", "get_static"),
    ("/metrics", "GET", "get_metrics"),
    ("/api/overview", "GET", "api_overview"),
    ("/api/flows", "GET", "api_flows"),
    ("/api/search", "GET", "api_search"),
    ("/api/documents/([0-9a-z]+)", "GET", "api_document"),
    ("/api/failures", "GET", "api_failures"),
    ("/api/alerts", "GET", "api_alerts"),
    ("/api/audit", "GET", "api_audit"),
    ("/api/drift", "GET", "api_drift"),
    ("/api/resubmit", "POST", "api_resubmit"),
    ("/api/alerts/ack", "POST", "api_ack"),
)]


def _layout(nodes: list[str], size: int = 560) -> dict[str, tuple[int, int]]:
    """Parties on a circle (the hub, when it answers, in the middle)."""
    import math

    outer = [n for n in nodes if n != "hub"]
    centre, radius = size // 2, size // 2 - 70
    places = {node: (int(centre + radius * math.cos(2 * math.pi * k / max(len(outer), 1) - math.pi / 2)),
                     int(centre + radius * math.sin(2 * math.pi * k / max(len(outer), 1) - math.pi / 2)))
              for k, node in enumerate(outer)}
    if "hub" in nodes:
        places["hub"] = (centre, centre)
    return places


def _readable(body: bytes) -> str:
    """A body for reading: indented when it is XML, as it is otherwise."""
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True)
        return etree.tostring(etree.fromstring(body, parser), pretty_print=True, encoding="unicode")
    except (etree.XMLSyntaxError, ValueError):
        return body.decode("utf-8", "replace")


class ConsoleServer:
    """The console on its own thread; ``stop()`` ends it (and every live stream) promptly."""

    def __init__(self, console: Console):
        self.console = console
        handler = type("BoundHandler", (Handler,), {"console": console})
        self.httpd = ThreadingHTTPServer((console.settings.bind, console.settings.port), handler)
        self.httpd.daemon_threads = True
        self.httpd.stopping = threading.Event()
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="console", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "ConsoleServer":
        self.thread.start()
        self.console.log.info("console.started", url=self.url)
        return self

    def stop(self) -> None:
        self.httpd.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.console.read.close()
        self.console.act.close()


__all__ = ["Console", "ConsoleServer", "ConsoleSettings", "HubError"]
