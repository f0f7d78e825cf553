"""Who may use the console: users with roles and scrypt-hashed passwords, sessions, CSRF tokens.

The users file (``[console] users``, TOML, written by ``hub console-user``) holds hashes only::

    [[user]]
    name = "wang.li"
    role = "operator"                 # viewer < operator < admin
    password_hash = "scrypt$16384$8$1$<salt>$<hash>"

A viewer sees everything and changes nothing; an operator also resubmits and acknowledges
alerts; an admin also runs endpoint self-tests. Sessions live in the console's memory
(a restart signs everyone out); every form and fetch that changes something carries the
session's CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from exchange.errors import ConfigError
from exchange.spec import load_toml

ROLES = ("viewer", "operator", "admin")
_SCRYPT = (16384, 8, 1)  # N, r, p: ~50 ms and 16 MB per check


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    n, r, p = _SCRYPT
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def check_password(password: str, hashed: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = hashed.split("$")
        if scheme != "scrypt":
            return False
        actual = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(bytes.fromhex(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, bytes.fromhex(digest))


def load_users(path: Path) -> dict[str, tuple[User, str]]:
    """name -> (user, password hash). A missing file means no one may sign in."""
    if not path.is_file():
        return {}
    top = load_toml(path)
    users = {}
    for entry in top.tables("user"):
        name = entry.str("name")
        role = entry.choice("role", ROLES)
        hashed = entry.str("password_hash")
        if not hashed.startswith("scrypt$"):
            raise entry.error("password_hash", "expected a scrypt hash written by `hub console-user`, never a password")
        entry.done()
        if name in users:
            raise entry.error("name", f"user {name} is defined twice")
        users[name] = (User(name, role), hashed)
    top.done()
    return users


def write_user(path: Path, name: str, role: str, password: str) -> None:
    """Add or replace one user in the users file, keeping the others."""
    if role not in ROLES:
        raise ConfigError(str(path), "role", f"must be one of {', '.join(ROLES)}")
    users = {n: (u.role, h) for n, (u, h) in load_users(path).items()}
    users[name] = (role, hash_password(password))
    lines = ["# Console users, written by `hub console-user`: password hashes (scrypt), never passwords."]
    for user_name, (user_role, hashed) in sorted(users.items()):
        lines += ["", "[[user]]", f'name = "{user_name}"', f'role = "{user_role}"', f'password_hash = "{hashed}"']
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)


@dataclass
class Session:
    user: User
    csrf: str
    expires: float
    password_hash: str = ""  # as it was at sign-in: a new password signs the session out
    ends: float = 0.0  # an absolute end, however active the session


class Sessions:
    def __init__(self, idle_seconds: float = 8 * 3600):
        self.idle = idle_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, user: User, password_hash: str = "") -> tuple[str, Session]:
        sid = secrets.token_urlsafe(32)
        now = time.monotonic()
        session = Session(user, secrets.token_urlsafe(32), now + self.idle, password_hash, now + 12 * 3600)
        with self._lock:
            self._sessions[sid] = session
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            now = time.monotonic()
            for stale in [key for key, value in self._sessions.items() if value.expires < now or value.ends < now]:
                del self._sessions[stale]
            session = self._sessions.get(sid)
            if session is None:
                return None
            session.expires = time.monotonic() + self.idle
            return session

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._sessions.pop(sid or "", None)
