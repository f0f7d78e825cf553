"""Message type names and the patterns that stand for several.

An endpoint's ``may_send`` and ``may_receive``, a route's ``type`` and ``answers``
and a catalog family (``type = "SAS2##"``) may name one type ("SAS221") or a
shell-style pattern ("SAS2##": every SAS2xx receipt, including ones customs
introduces after this catalog was written). One function decides, everywhere.
"""

from __future__ import annotations

import fnmatch
from typing import Iterable

_GLOB = frozenset("*?[#")


def is_pattern(name: str) -> bool:
    return any(character in _GLOB for character in name)


def type_matches(patterns: Iterable[str], message_type: str) -> bool:
    """Whether ``message_type`` is one of ``patterns`` (names or patterns, case-sensitive)."""
    return any(pattern == message_type or (is_pattern(pattern) and fnmatch.fnmatchcase(
        message_type, pattern.replace("#", "[0-9]"))) for pattern in patterns)
