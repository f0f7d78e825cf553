"""Validation policies: strict for what the hub sends on, tolerant for what an authority sends.

Every catalog entry declares its policy (``policy = "strict" | "tolerant"`` in
``schemas/catalog.toml``):

    strict    every element must be one the XSD declares, with the value it allows: an unknown
              element, a missing or empty mandatory field is an error that names it. The hub
              never forwards to customs what customs would refuse. Two things may differ from
              the XSD, because real documents customs accepts differ in them: the order of
              fields (two vendors' clients write INV101 heads in different orders) and, where
              the entry accepts several namespace forms (``namespace = [...]`` or ``"*"``),
              the namespace. A document that fails as it is is checked again as a copy in the
              XSD's order and namespace, and that copy's findings are the report.
    tolerant  what customs, H2010, the zone system, the DXP data centre or the Single Window
              write: customs does not change its output for us. A copy is normalised first:
              every element is put in the XSD's namespace and order, and elements the XSD does
              not know are left out. The copy is then checked. A problem on a field the hub
              needs (the entry's business number, its correlation keys and its ``needs``)
              refuses the document; any other finding is *drift*: accepted, reported to the
              sender's operators, journaled as ``SCHEMA_DRIFT`` (``exchange/drift.py``).

``FieldModel`` is the element tree an XSD describes, read once per process with
xmlschema (which knows XSD; lxml does not expose the model). Only tolerant entries,
and strict documents that are not in the XSD's order or namespace, need it: a
strict document that is valid as it is costs nothing more.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .errors import ConfigError

STRICT, TOLERANT = "strict", "tolerant"
POLICIES = (STRICT, TOLERANT)

# kinds of drift
UNKNOWN_ELEMENT = "unknown-element"  # an element the type's XSD does not describe
UNEXPECTED_VALUE = "unexpected-value"  # a field the hub does not need, with a value its XSD does not expect
UNKNOWN_CODE = "unknown-code"  # a code not (yet) in an open code list (schemas/codes/, open = true)
UNKNOWN_TYPE = "unknown-type"  # a receipt of a known family whose own type the catalog lacks

_POSITIONS = re.compile(r"\[[0-9]+\]")


@dataclass(frozen=True)
class Drift:
    """Something an authority's document carries that the hub's schema does not describe.
    Accepted and reported, never a reason to refuse the document."""

    kind: str  # one of the kinds above
    element: str  # local name of the element concerned
    path: str  # where, by local names with positions: /Package/DataInfo/BussinessData/INV201/BondInvtBsc/levyBlAmt
    line: int | None
    message: str

    @property
    def where(self) -> str:
        """The path without positions: one field, however many lines carry it."""
        return _POSITIONS.sub("", self.path)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "element": self.element, "path": self.path, "line": self.line,
                "message": self.message}

    def __str__(self) -> str:
        line = f"line {self.line}: " if self.line else ""
        return f"{line}{self.path}: {self.message}"


def local_name(element: etree._Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def general(path: str) -> str:
    return _POSITIONS.sub("", path)


def paths_of(root: etree._Element) -> dict[etree._Element, str]:
    """Every element's ``path_of`` under ``root``, in one pass: linear in the document, however many
    lines share a name (asking ``path_of`` for each of 100,000 lines would be quadratic)."""
    paths: dict[etree._Element, str] = {root: path_of(root)}
    stack = [root]
    while stack:
        parent = stack.pop()
        prefix = paths[parent]
        children = [child for child in parent if isinstance(child.tag, str)]
        counts: dict[str, int] = {}
        for child in children:
            name = local_name(child)
            counts[name] = counts.get(name, 0) + 1
        seen: dict[str, int] = {}
        for child in children:
            name = local_name(child)
            seen[name] = seen.get(name, 0) + 1
            paths[child] = f"{prefix}/{name}[{seen[name]}]" if counts[name] > 1 else f"{prefix}/{name}"
            stack.append(child)
    return paths


def path_of(element: etree._Element) -> str:
    """An element's path by local names, with a position where siblings share its name:
    /Package/DataInfo/BussinessData/INV201/BondInvtDt[3]/gdsNm. One element's: for many, ``paths_of``."""
    steps = []
    node: etree._Element | None = element
    while node is not None:
        name = local_name(node)
        parent = node.getparent()
        if parent is not None:
            same = [sibling for sibling in parent if isinstance(sibling.tag, str) and local_name(sibling) == name]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))


@dataclass
class _Node:
    """One element the XSD declares: its tag as lxml writes it, its place among its siblings,
    and its children by local name (None: simple content)."""

    tag: str
    order: int
    children: dict[str, "_Node"] | None
    open: list = field(default_factory=list)  # the xs:any wildcards among its children (shared per type)
    namespace: str = field(init=False)

    def __post_init__(self) -> None:
        self.namespace = self.tag[1:].partition("}")[0] if self.tag.startswith("{") else ""


@dataclass
class Normalized:
    """A document as its XSD expects it: ``tree`` to validate, the original element behind every
    element in it (so a finding is reported at the original's path and line), and what was left
    out on the way."""

    tree: etree._ElementTree
    origins: dict[etree._Element, etree._Element]  # copy -> original; keeps both proxies alive
    drift: list[Drift]
    _paths: dict[etree._Element, str] | None = None

    def path_of(self, element: etree._Element | None) -> str | None:
        """The original's path of an element of the copy (all of them worked out at the first call,
        in one pass: a report names up to 100 places)."""
        origin = self.origins.get(element) if element is not None else None
        if origin is None:
            return None
        if self._paths is None:
            self._paths = paths_of(origin.getroottree().getroot())
        return self._paths.get(origin)

    def line_of(self, element: etree._Element | None) -> int | None:
        origin = self.origins.get(element) if element is not None else None
        return origin.sourceline if origin is not None else None

    def element_at(self, lxml_path: str | None) -> etree._Element | None:
        """The element an lxml error log entry's path names (``/*/*[2]`` or ``/Package/DataInfo``)."""
        if not lxml_path:
            return None
        namespaces = ({prefix: uri for element in self.tree.iter() for prefix, uri in element.nsmap.items() if prefix}
                      if ":" in lxml_path else None)
        try:
            found = self.tree.xpath(lxml_path, namespaces=namespaces)
        except etree.XPathError:
            return None
        return found[0] if isinstance(found, list) and found and isinstance(found[0], etree._Element) else None


class FieldModel:
    """The element tree one XSD describes, by local name, for normalising documents."""

    def __init__(self, xsd: Path):
        import xmlschema  # imported here: slow to load, and only some entries need a model

        try:
            schema = xmlschema.XMLSchema10(str(xsd))
        except (xmlschema.XMLSchemaException, OSError) as exc:
            raise ConfigError(str(xsd), "-", f"xmlschema cannot read the schema: {exc}") from exc
        self.xsd = xsd
        self._memo: dict[int, tuple[dict[str, _Node], list]] = {}
        self.roots = {element.local_name: self._node(element, 0) for element in schema.elements.values()}

    def _node(self, element, order: int) -> _Node:
        from xmlschema.validators import XsdAnyElement

        kind = element.type
        if kind.is_simple() or kind.has_simple_content():
            return _Node(element.name, order, None)
        memo = self._memo.get(id(kind))
        if memo is None:  # children filled after the memo entry: a recursive type refers to itself
            memo = self._memo[id(kind)] = ({}, [])
            children, wildcards = memo
            content = kind.content
            for position, child in enumerate(content.iter_elements()):
                if not isinstance(child, XsdAnyElement):
                    children.setdefault(child.local_name, self._node(child, position))
            wildcards.extend(part for part in content.iter_model() if isinstance(part, XsdAnyElement))
        children, open_ = memo
        return _Node(element.name, order, children, open_)

    def normalized(self, root: etree._Element, tolerant: bool, described: str) -> Normalized:
        """A copy of the document under ``root`` as the XSD lays it out: every element it declares
        renamed into its namespace and every element's children in its order; comments left out.
        ``tolerant``: also without the elements it does not declare, each one reported as drift
        (strict: they stay, after the known ones, and the XSD names them). ``described``: what
        the drift messages call the schema."""
        node = self.roots.get(local_name(root))
        origins: dict[etree._Element, etree._Element] = {}
        drift: list[Drift] = []
        tag = node.tag if node is not None else root.tag
        namespace = tag[1:].partition("}")[0] if tag.startswith("{") else ""
        # the XSD's namespace as the default one, so lxml's error paths read /*/*[2], not /ns0:X/ns0:Y[2]
        top = etree.Element(tag, nsmap={None: namespace} if namespace else None)
        left_out: list[etree._Element] = []
        self._copy(root, top, node, tolerant, origins, left_out, namespace)
        if left_out:  # what the XSD does not know, each at its path: worked out in one pass
            paths = paths_of(root)
            drift = [Drift(UNKNOWN_ELEMENT, local_name(element), paths[element], element.sourceline,
                           f"{local_name(element)} is not an element {described} knows here: accepted, not read")
                     for element in left_out]
        return Normalized(etree.ElementTree(top), origins, drift)

    def _copy(self, source: etree._Element, target: etree._Element, node: _Node | None, tolerant: bool,
              origins: dict, left_out: list[etree._Element], namespace: str) -> None:
        # The hot loop of a tolerant reading (every receipt): plain string work, paths only for drift.
        origins[target] = source
        line = source.sourceline
        if line is not None and line < 65535:  # libxml2 keeps a copy's line in 16 bits: Normalized.line_of
            target.sourceline = line
        target.text = source.text
        if source.attrib:
            for attribute, value in source.attrib.items():
                target.set(attribute, value)
        known = node.children if node is not None else None
        wildcards = node.open if node is not None else ()
        placed: list[tuple[int, etree._Element]] = []
        in_order, last = True, -1
        for child in source:
            tag = child.tag
            if not isinstance(tag, str):  # a comment or PI: not checked, but text after it is
                if child.tail:
                    if placed:
                        placed[-1][1].tail = (placed[-1][1].tail or "") + child.tail
                    else:
                        target.text = (target.text or "") + child.tail
                continue
            name = tag[tag.rfind("}") + 1:]
            child_node = known.get(name) if known is not None else None
            if child_node is None and tolerant and known is not None and not any(
                    wildcard.is_namespace_allowed(tag[1:].partition("}")[0] if tag[0] == "{" else "")
                    for wildcard in wildcards):  # an xs:any takes only the namespaces it names
                left_out.append(child)
                continue
            if child_node is not None:
                new_tag, inner, order = child_node.tag, child_node.namespace, child_node.order
            elif tolerant:  # under an xs:any: in the namespace of the nearest element the XSD declares
                new_tag, inner, order = (f"{{{namespace}}}{name}" if namespace else name), namespace, 1 << 30
            else:  # strict: as it is, for the XSD to name it
                new_tag, inner, order = tag, namespace, 1 << 30
            copy = etree.SubElement(target, new_tag)
            copy.tail = child.tail
            in_order, last = in_order and order >= last, order
            placed.append((order, copy))
            self._copy(child, copy, child_node, tolerant, origins, left_out, inner)
        if not in_order:
            target[:] = [element for _, element in sorted(placed, key=lambda pair: pair[0])]


class Models:
    """One ``FieldModel`` per XSD, built on first use and shared by every catalog of the process
    (the test suite and ``hub reload`` load the catalog many times; the XSDs do not change)."""

    _models: dict[tuple[Path, float], FieldModel] = {}
    _lock = threading.Lock()

    @classmethod
    def of(cls, xsd: Path) -> FieldModel:
        key = (xsd, xsd.stat().st_mtime)
        with cls._lock:
            model = cls._models.get(key)
            if model is None:
                model = cls._models[key] = FieldModel(xsd)
            return model
