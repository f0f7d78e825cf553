"""Hardened XML parsing: the only place the hub turns bytes into a tree.

What it refuses, and why (facts measured with lxml 6 / libxml2 2.14):
- empty or oversized input: refused before parsing, since a tree costs ~35x its bytes;
- any DOCTYPE: no customs format has one, and even an internal subset still
  registers IDs and carries entity definitions (XXE, billion laughs);
- nesting deeper than the configured limit (libxml2 itself stops at 256);
- anything libxml2 cannot parse, with its first error and line.

The parser never loads a DTD, never resolves an entity, never touches the
network. This module does not know message types; ``envelope`` does.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

from lxml import etree

from .errors import Issue, RefusedInput


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20 * 1024 * 1024
    max_depth: int = 64
    # Above this, a type with declared lines is read a slice of lines at a time (``streaming``):
    # a whole tree costs ~35x the bytes, a slice a few megabytes.
    stream_bytes: int = 2 * 1024 * 1024
    # The largest document read as one tree (a type without declared lines, a DXP payload):
    # 20 MiB is some 600 MB of tree.
    max_tree_bytes: int = 20 * 1024 * 1024


def _new_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=False,
        collect_ids=False,
    )


# lxml parser objects must not be shared between threads.
_local = threading.local()

# A DOCTYPE or ENTITY declaration, looked for in the raw bytes first so that a bomb
# is refused before libxml2 sees it (bytes.find is far cheaper than a parse). The
# parsed tree's docinfo is checked too, for encodings these byte patterns miss.
_DTD_MARKS = tuple(
    mark.encode(codec) for mark in ("<!DOCTYPE", "<!ENTITY") for codec in ("utf-8", "utf-16-le", "utf-16-be")
)


def _declares_dtd(data: bytes) -> bool:
    if b"\x00" not in data[:4]:  # not UTF-16: the two ASCII marks suffice
        return data.find(b"<!DOCTYPE") >= 0 or data.find(b"<!ENTITY") >= 0
    return any(data.find(mark) >= 0 for mark in _DTD_MARKS)


def _depth_probe(depth: int) -> etree.XPath:
    # ``/*/*/...`` with depth+1 steps selects an element deeper than the limit.
    return etree.XPath("boolean(/" + "/".join(["*"] * (depth + 1)) + ")")


_probes: dict[int, etree.XPath] = {}


def check_input(data: bytes, limits: Limits) -> None:
    """What is refused before any parser sees the bytes: empty, oversized, a DTD."""
    if not data or (len(data) < 4096 and not data.strip()):  # larger blank input fails to parse anyway
        raise RefusedInput("the document is empty")
    check_size(len(data), limits)
    if _declares_dtd(data):
        raise RefusedInput("the document has a DOCTYPE or ENTITY declaration, which the hub never accepts")


def syntax_error(exc: etree.XMLSyntaxError, limits: Limits) -> RefusedInput:
    """libxml2's complaint as a refusal the sender can act on."""
    line = exc.lineno if exc.lineno else None
    if "Excessive depth" in str(exc.msg):  # libxml2's own ceiling, above any configured limit
        return RefusedInput(f"the document nests elements deeper than the limit of {limits.max_depth}",
                            [Issue(f"nesting deeper than {limits.max_depth}", line=line)])
    return RefusedInput(f"not well-formed XML: {exc.msg}", [Issue(f"not well-formed XML: {exc.msg}", line=line)])


def check_tree(tree: etree._ElementTree, limits: Limits) -> None:
    """What is refused once parsed: a DOCTYPE the byte scan missed, too deep a nesting."""
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise RefusedInput("the document has a DOCTYPE, which the hub never accepts")
    probe = _probes.get(limits.max_depth)
    if probe is None:
        probe = _probes[limits.max_depth] = _depth_probe(limits.max_depth)
    if probe(tree):
        raise RefusedInput(f"the document nests elements deeper than the limit of {limits.max_depth}")


def check_tree_size(size: int, limits: Limits) -> None:
    if size > limits.max_tree_bytes:
        raise RefusedInput(f"the document is {size:,} bytes, over the limit of {limits.max_tree_bytes:,} bytes "
                           "for a document read as one tree; only types with declared lines (inventory lists) "
                           "are read in slices above that: split it into pockets")


def check_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise RefusedInput(f"the document is {size:,} bytes, over the limit of {limits.max_bytes:,} bytes")


def parse(data: bytes, limits: Limits = Limits()) -> etree._ElementTree:
    """Parse ``data`` or raise ``RefusedInput`` with a reason a sender can act on."""
    check_input(data, limits)
    check_tree_size(len(data), limits)
    try:
        parser = getattr(_local, "parser", None)
        if parser is None:
            parser = _local.parser = _new_parser()
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, limits) from exc
    except ValueError as exc:  # e.g. a declared encoding lxml cannot honour
        raise RefusedInput(f"not readable as XML: {exc}") from exc
    tree = root.getroottree()
    check_tree(tree, limits)
    return tree


def iterparse(data: bytes, tag: str | set[str] | None = None) -> etree.iterparse:
    """The same hardened parser, reading ``data`` as a stream of ended elements."""
    return etree.iterparse(io.BytesIO(data), events=("end",), tag=tag, resolve_entities=False, no_network=True,
                           load_dtd=False, dtd_validation=False, huge_tree=False, remove_pis=False,
                           collect_ids=False)
