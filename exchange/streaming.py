"""Documents too large for one tree, read a slice of lines at a time.

A 100 MB inventory list holds about 350,000 goods lines; as one lxml tree it would
take some 3.5 GB. When a document is larger than ``[limits] stream_document_bytes``
the hub reads it twice with the same hardened parser:

1. ``skeleton``: everything except the lines of the types that declare them
   (``items`` in the catalog): envelope, header, trailer. It is small, and the
   envelope and the type are read from it as from any document.
2. ``slices``: the lines again, ``SLICE_LINES`` at a time, each slice put back into
   a copy of the skeleton where the lines stood. Every slice is an ordinary,
   complete document of its type, so it is validated (XSD and business rules, line
   numbers running on across slices) and converted by the same XSLT maps as a small
   document: nothing here knows a message type.

``SlicedOutput`` joins the converted slices: the converted header and trailer of
the first slice around the converted lines of all of them. The joined output is
checked the same way before it is queued.

Why a slice stands for the whole: a type's lines are independent in its XSD (no
identity constraint spans lines) and contiguous (``skeleton`` refuses a document
whose lines are interleaved with other elements), so the document is valid exactly
when every slice is. Line numbers in reports are the document's own (a moved
element keeps its source line); element paths are renumbered to the document's.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass

from lxml import etree

from .errors import HubError, InvalidDocument, Issue, RefusedInput
from .parsing import Limits, check_input, check_tree, iterparse, syntax_error

SLICE_LINES = 500  # ~150 KB of inventory lines: a slice's tree stays under 10 MB
_MARKER = b"<!--hub-lines-->"


@dataclass(frozen=True)
class Lines:
    """Where a document's lines stood before ``skeleton`` took them out."""

    tag: str
    parent_path: str  # the element holding them, as ``getpath`` in the skeleton
    index: int  # their position among its children
    count: int
    first_line: int  # source line of the first one


def skeleton(data: bytes, limits: Limits, tags: set[str]) -> tuple[etree._ElementTree, list[Lines]]:
    """Parse ``data`` keeping every element except those tagged ``tags`` (the catalog's lines).

    Returns the tree without its lines, and where they stood (empty: the tree is the whole
    document). Lines of one tag under one parent must be contiguous; comments and processing
    instructions between them are dropped, text other than whitespace is refused."""
    check_input(data, limits)
    found: dict[etree._Element, list] = {}  # parent -> [tag, index, count, first line]
    events = iterparse(data, tag=sorted(tags))
    try:
        for _, element in events:
            parent = element.getparent()
            if parent is None:
                continue
            place = found.get(parent)
            if place is not None:
                for node in list(element.itersiblings(preceding=True)):
                    if not isinstance(node.tag, str):  # a comment or PI between two lines
                        _drop(node)
                    else:
                        break
            index = parent.index(element)  # events come in batches: later lines may be in already
            if place is None:
                found[parent] = place = [element.tag, index, 0, element.sourceline or 0]
            elif index != place[1] or element.tag != place[0]:
                raise RefusedInput(
                    f"{_local(element.tag)} at line {element.sourceline} does not follow the other "
                    f"{_local(place[0])} lines: a document this large is read in slices of its lines, "
                    "which must stand together",
                    [Issue("lines interrupted by another element", line=element.sourceline)])
            _check_text(element.tail, element, "after")
            place[2] += 1
            parent.remove(element)
        tree = events.root.getroottree()
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, limits) from exc
    check_tree(tree, limits)
    for parent, (tag, index, _, first) in found.items():
        # Text read after a line was taken out lands on what precedes the lines: it must be blank.
        before = parent[index - 1] if index else None
        _check_text(before.tail if before is not None else parent.text, parent, "among", first)
        if before is not None:
            before.tail = None
        else:
            parent.text = None
    lines = [Lines(tag, tree.getpath(parent), index, count, first)
             for parent, (tag, index, count, first) in found.items()]
    return tree, lines


def _drop(node: etree._Element) -> None:
    """Remove a node but keep its tail (whitespace between lines) where it was."""
    parent = node.getparent()
    previous = node.getprevious()
    if node.tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def _check_text(text: str | None, element: etree._Element, where: str, line: int | None = None) -> None:
    if text and text.strip():
        line = line or element.sourceline
        name = _local(element.tag)
        raise InvalidDocument(
            f"text {text.strip()[:40]!r} {where} the {name} lines (near line {line}): only elements may stand there",
            [Issue(f"character content other than whitespace {where} {name} lines", line=line)])


def slices(data: bytes, skeleton_tree: etree._ElementTree, lines: Lines, limits: Limits,
           size: int | None = None) -> Iterator[tuple[int, etree._ElementTree]]:
    """The document again as complete documents of at most ``size`` (SLICE_LINES) lines each:
    (number of the slice's first line, counted from 1; the slice)."""
    size = size or SLICE_LINES
    batch: list[etree._Element] = []
    seen = 0
    parent_seen = None
    events = iterparse(data, tag=lines.tag)
    try:
        for _, element in events:
            parent = element.getparent()
            if parent is None:
                continue
            if parent_seen is None:
                parent_seen = parent
            elif parent is not parent_seen:
                continue  # the same tag elsewhere: part of the skeleton's other content
            element.tail = None  # blank (``skeleton`` checked): the slices serialise alike however read
            parent.remove(element)
            batch.append(element)
            if len(batch) == size:
                yield seen + 1, _assemble(skeleton_tree, lines, batch, limits)
                seen += len(batch)
                batch = []
    except etree.XMLSyntaxError as exc:
        raise syntax_error(exc, limits) from exc
    if batch:
        yield seen + 1, _assemble(skeleton_tree, lines, batch, limits)
        seen += len(batch)
    if seen != lines.count:
        raise HubError(f"read {seen} {_local(lines.tag)} lines in slices but {lines.count} in the skeleton")


def _assemble(skeleton_tree: etree._ElementTree, lines: Lines, batch: list[etree._Element],
              limits: Limits) -> etree._ElementTree:
    root = deepcopy(skeleton_tree.getroot())
    tree = root.getroottree()
    parent = tree.xpath(lines.parent_path)[0]
    after = list(parent)[lines.index:]  # what follows the lines (a trailer), put back after them
    for element in after:
        parent.remove(element)
    parent.extend(batch)  # moved, each with its source line
    parent.extend(after)
    check_tree(tree, limits)  # the lines' own nesting
    return tree


def renumber(issues: list[Issue], tag: str, first: int) -> list[Issue]:
    """A slice's element paths as the whole document's: line k of a slice starting at
    ``first`` is line first+k-1 of the document."""
    if first == 1:
        return issues
    pattern = re.compile(rf"(/(?:[\w.-]+:)?{re.escape(_local(tag))})(?:\[(\d+)\])?(?=/|$)")

    def fix(path: str | None) -> str | None:
        if not path:
            return path
        return pattern.sub(lambda m: f"{m.group(1)}[{int(m.group(2) or 1) + first - 1}]", path, count=1)

    return [Issue(issue.message, line=issue.line, path=fix(issue.path), file=issue.file) for issue in issues]


class SlicedOutput:
    """The converted slices of one document, joined into one: the first slice's header and
    trailer around every slice's lines."""

    def __init__(self, tag: str):
        self.tag = tag
        self._buffer = io.BytesIO()
        self._suffix: bytes | None = None

    def add(self, converted: etree._ElementTree, body: etree._Element) -> None:
        lines = body.findall(self.tag)
        if not lines:
            raise HubError(f"a converted slice has no {_local(self.tag)} lines")
        if self._suffix is None:
            index = body.index(lines[0])
            for line in lines:
                body.remove(line)
            body.insert(index, etree.Comment(_MARKER[4:-3].decode()))
            prefix, marker, self._suffix = etree.tostring(converted, xml_declaration=True,
                                                          encoding="UTF-8").partition(_MARKER)
            if not marker:
                raise HubError("could not place the converted lines in the converted header")
            self._buffer.write(prefix)
        for line in lines:
            self._buffer.write(etree.tostring(line, encoding="UTF-8", xml_declaration=False))

    def getvalue(self) -> bytes:
        if self._suffix is None:
            raise HubError("no converted slice")
        self._buffer.write(self._suffix)
        self._suffix = b""
        return self._buffer.getvalue()


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
