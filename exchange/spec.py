"""Typed reading of TOML files, so every config error names the file, the key and the reason.

``Table`` wraps one TOML table and knows where it came from. Its getters check
the type and turn every problem into a ``ConfigError("config/endpoints/zone.toml",
"transport.root", "expected a string, got 3")``. Unknown keys are errors too:
a typo must not silently fall back to a default.
"""

from __future__ import annotations

import re

import tomllib
from pathlib import Path
from typing import Any

from .errors import ConfigError

_MISSING = object()


def load_toml(path: Path) -> "Table":
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "-", "file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "-", f"not valid TOML: {exc}") from exc
    return Table(data, str(path), "")


class Table:
    def __init__(self, data: dict, file: str, prefix: str):
        self.data, self.file, self.prefix = data, file, prefix
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}" if self.prefix else name

    def error(self, name: str, reason: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), reason)

    def _get(self, name: str, kinds: tuple[type, ...], default: Any, what: str) -> Any:
        self._read.add(name)
        value = self.data.get(name, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise self.error(name, "is required")
            return default
        # bool is an int in Python; a config that says `port = true` is still wrong.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.error(name, f"expected {what}, got {value!r}")
        return value

    def str(self, name: str, default: Any = _MISSING) -> str:
        return self._get(name, (str,), default, "a string")

    def int(self, name: str, default: Any = _MISSING, minimum: int | None = None) -> int:
        value = self._get(name, (int,), default, "a whole number")
        if minimum is not None and value is not None and value < minimum:
            raise self.error(name, f"must be at least {minimum}, got {value}")
        return value

    def float(self, name: str, default: Any = _MISSING) -> float:
        return float(self._get(name, (int, float), default, "a number"))

    def duration(self, name: str, default: Any = _MISSING) -> float:
        """Seconds, written as a number of seconds or as "90s", "30m", "2h", "1d"."""
        value = self._get(name, (int, float, str), default, 'a duration such as "30m"')
        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", value)
            if not match:
                raise self.error(name, f'expected a duration such as "90s", "30m", "2h" or "1d", got {value!r}')
            seconds = float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
        if seconds <= 0:
            raise self.error(name, f"must be more than zero, got {value!r}")
        return seconds

    def bool(self, name: str, default: Any = _MISSING) -> bool:
        return self._get(name, (bool,), default, "true or false")

    def str_list(self, name: str, default: Any = _MISSING) -> list[str]:
        value = self._get(name, (list,), default, "a list of strings")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ConfigError(self.file, f"{self.key(name)}[{index}]", f"expected a string, got {item!r}")
        return list(value)

    def choice(self, name: str, choices: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self.str(name, default)
        if value not in choices:
            raise self.error(name, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def table(self, name: str, required: bool = False) -> "Table":
        value = self._get(name, (dict,), _MISSING if required else {}, "a table")
        return Table(value, self.file, f"{self.key(name)}.")

    def tables(self, name: str) -> list["Table"]:
        value = self._get(name, (list,), [], "an array of tables ([[...]])")
        result = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise ConfigError(self.file, f"{self.key(name)}[{index}]", f"expected a table, got {item!r}")
            result.append(Table(item, self.file, f"{self.key(name)}[{index}]."))
        return result

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        return self._get(name, (object,), default, "a value")

    def done(self) -> None:
        """Refuse keys nobody read: they are typos or settings this version does not know."""
        unknown = sorted(set(self.data) - self._read)
        if unknown:
            raise self.error(unknown[0], "unknown key (a typo, or a setting this version does not have)")
