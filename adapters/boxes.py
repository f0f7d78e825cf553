"""What the folder transports (local and SFTP) share: the customs client's four boxes and its file rules.

    OutBox   the party writes documents here; the hub picks them up
    SentBox  the hub moves a picked-up file here once the journal holds it
    FailBox  ... or here when it was refused; the answer goes to InBox
    InBox    the hub delivers here, writing ".<name>.part" and renaming it
"""

from __future__ import annotations

import posixpath

from exchange.errors import TransportError

BOXES = ("OutBox", "InBox", "SentBox", "FailBox")


def in_progress(name: str) -> bool:
    """A writer's temporary file or a dot file: never a document to pick up."""
    return name.startswith(".") or name.endswith((".part", ".tmp", ".filepart"))


def check_delivery_name(endpoint: str, name: str) -> str:
    """A delivery's file name must be one plain name: no folders, no dot files."""
    if not name or "/" in name or "\\" in name or "\0" in name or name.startswith(".") \
            or name != posixpath.basename(name):
        raise TransportError(endpoint, f"refusing to write a file named {name!r}")
    return name


def numbered(name: str, counter: int) -> str:
    """The name to park a file under when ``name`` is taken: "a.xml" -> "a.1.xml"."""
    stem, suffix = posixpath.splitext(name)
    return f"{stem}.{counter}{suffix}"
