"""Credentials named by reference: a file path or an environment variable, never the value.

An endpoint file says ``password_file = "/run/secrets/hub-customs"`` or
``password_env = "HUB_CUSTOMS_PASSWORD"``; a plain ``password = ...`` is refused
by ``hub lint``. The value is read when the adapter connects, and lives in a
``Secret`` whose ``repr`` is a mask, so it never reaches a log line or a trace.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import TransportError
from .spec import Table


class Secret:
    def __init__(self, source: str, read):
        self.source = source  # e.g. "env HUB_CUSTOMS_PASSWORD": safe to show
        self._read = read

    def reveal(self) -> str:
        return self._read()

    def __repr__(self) -> str:
        return f"Secret({self.source}, ***)"

    __str__ = __repr__


def secret(table: Table, name: str, endpoint: str, required: bool = True) -> Secret | None:
    """The secret ``name`` of a transport table, from ``{name}_file`` or ``{name}_env``."""
    if name in table.data:
        table.raw(name)
        raise table.error(name, f"secrets are never written in config files; use {name}_file or {name}_env")
    file_name = table.str(f"{name}_file", "")
    env_name = table.str(f"{name}_env", "")
    if file_name and env_name:
        raise table.error(f"{name}_file", f"give {name}_file or {name}_env, not both")
    if file_name:
        path = Path(file_name).expanduser()

        def from_file() -> str:
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise TransportError(endpoint, f"cannot read the {name} file {path}: {exc.strerror}") from exc

        return Secret(f"file {path}", from_file)
    if env_name:
        def from_env() -> str:
            value = os.environ.get(env_name)
            if value is None:
                raise TransportError(endpoint, f"the environment variable {env_name} ({name}) is not set")
            return value

        return Secret(f"env {env_name}", from_env)
    if required:
        raise table.error(f"{name}_file", f"the {name} is required: set {name}_file or {name}_env")
    return None
