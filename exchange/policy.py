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

import collections
import itertools
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
REPEATED_ELEMENT = "repeated-element"  # an element more often than its XSD allows there (the first ones are read)

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


def element_at(tree: etree._ElementTree, lxml_path: str | None) -> etree._Element | None:
    """The element an lxml error log entry's path names (``/*/*[2]``, ``/Package/DataInfo``, ``/ns0:X``)."""
    if not lxml_path:
        return None
    namespaces = None
    wanted = {step.partition(":")[0] for step in lxml_path.split("/") if ":" in step}
    if wanted:  # find where the prefixes the path uses are declared; stop once all are
        namespaces = {}
        for element in tree.getroot().iter():
            namespaces.update((prefix, uri) for prefix, uri in element.nsmap.items() if prefix in wanted)
            if len(namespaces) == len(wanted):
                break
    try:
        found = tree.xpath(lxml_path, namespaces=namespaces)
    except etree.XPathError:
        return None
    return found[0] if isinstance(found, list) and found and isinstance(found[0], etree._Element) else None


WINDOW = 500  # siblings of one name validated at a time when an element has more children (validate_linear)
KEEP = 8  # first occurrences of each name kept in every window (validate_linear)


def validate_linear(schema: etree.XMLSchema, tree: etree._ElementTree, limit: int, first_only: bool = False
                    ) -> list[tuple[etree._Element | None, int | None, str, str | None]]:
    """libxml2's findings as (element, line, message, lxml path), each once, at most ``limit``, in time
    linear in the document. libxml2 goes on past the first error and works out each one's path by
    counting the element's siblings: 64,000 bad lines under one element cost minutes. So an element
    with more than ``WINDOW`` children (the outermost such: lines inside lines are not windowed) is
    validated a window at a time: window k holds the first ``KEEP`` and the k-th ``WINDOW`` occurrences
    of each name among its children, in their places; everything around it stays. A window is an
    ordered subset of the children with every name in it, so it is valid when the whole is, for
    content whose repeating parts are single names or choices (no catalog schema repeats a sequence,
    bounds a name above ``WINDOW`` or requires more than ``KEEP`` of one: tests/test_catalog_coverage.py
    checks); a line out of order stands after its name's first ones, as in the whole. Comments and
    processing instructions are left out of the windows (they do not count for validation) unless
    text follows them. ``first_only``: stop at the first window that has a finding (a yes-or-no check)."""
    crowded = [parent for parent in tree.getroot().iter()
               if len(parent) > WINDOW and not any(len(ancestor) > WINDOW for ancestor in parent.iterancestors())]
    if not crowded:
        schema.validate(tree)
        return [(element_at(tree, entry.path), entry.line or None, entry.message, entry.path)
                for entry in itertools.islice(schema.error_log, limit)]
    children = {parent: list(parent) for parent in crowded}
    names: dict[etree._Element, dict[str, list[etree._Element]]] = {}
    for parent, everyone in children.items():
        names[parent] = {}
        for child in everyone:
            if isinstance(child.tag, str):
                names[parent].setdefault(child.tag, []).append(child)
    windows = max(len(same) for by_name in names.values() for same in by_name.values()) // WINDOW + 1
    found: list = []
    seen: set[tuple[object, str]] = set()
    try:
        for k in range(windows):
            for parent, everyone in children.items():
                kept = {id(child) for same in names[parent].values()
                        for child in same[:KEEP] + same[k * WINDOW:(k + 1) * WINDOW]}
                parent[:] = [child for child in everyone if id(child) in kept
                             or (not isinstance(child.tag, str) and (child.tail or "").strip())]
            if schema.validate(tree):
                continue
            for entry in schema.error_log:
                element = element_at(tree, entry.path)
                key = (element if element is not None else entry.path, entry.message)
                if key in seen:  # an element kept in several windows
                    continue
                seen.add(key)
                found.append((element, entry.line or None, entry.message, entry.path))
            if len(found) >= limit or first_only and found:
                break
    finally:
        for parent, everyone in children.items():
            parent[:] = everyone
    return sorted(found, key=lambda finding: finding[1] or 0)[:limit]  # by line, as the whole would list them


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
    """One element the XSD declares: its tag as lxml writes it, its place among its siblings, how
    often it may occur there, its children by local name (None: simple content) and, then, its
    simple type (xmlschema's, for checking one value on its own)."""

    tag: str
    order: int
    children: dict[str, "_Node"] | None
    open: list = field(default_factory=list)  # the xs:any wildcards among its children (shared per type)
    max_occurs: int | None = 1  # None: unbounded
    simple: object = None
    namespace: str = field(init=False)

    def __post_init__(self) -> None:
        self.namespace = _namespace(self.tag)


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
        return element_at(self.tree, lxml_path)


class FieldModel:
    """The element tree one XSD describes, by local name, for normalising documents."""

    def __init__(self, xsd: Path):
        import xmlschema  # imported here: slow to load, and only some entries need a model

        try:
            schema = xmlschema.XMLSchema10(str(xsd))
        except (xmlschema.XMLSchemaException, OSError) as exc:
            raise ConfigError(str(xsd), "-", f"xmlschema cannot read the schema: {exc}") from exc
        self.xsd = xsd
        self._values = threading.Lock()  # xmlschema's quick value check shares one context per schema
        self._memo: dict[int, tuple[dict[str, _Node], list]] = {}
        self.roots = {element.local_name: self._node(element, 0) for element in schema.elements.values()}
        # An xs:any that checks what it holds (lax or strict, a family's business element): there the XSD
        # alone would pass a field in a namespace it does not expect unchecked. One that skips its content
        # (a signature's SignedInfo) is read the same as it is or copied.
        self.open = any(wildcard.process_contents != "skip"
                        for _, wildcards in self._memo.values() for wildcard in wildcards)

    def _node(self, element, order: int) -> _Node:
        from xmlschema.validators import XsdAnyElement

        kind = element.type
        occurs = element.max_occurs
        if kind.is_simple() or kind.has_simple_content():
            return _Node(element.name, order, None, max_occurs=occurs,
                         simple=kind if kind.is_simple() else kind.content)
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
        return _Node(element.name, order, children, open_, max_occurs=occurs)

    def node_at(self, names: list[str]) -> _Node | None:
        """The declaration at a path of local names from a global element, or None."""
        node = self.roots.get(names[0]) if names else None
        for name in names[1:]:
            node = node.children.get(name) if node is not None and node.children is not None else None
        return node

    def value_error(self, names: list[str], value: str) -> str | None:
        """Why ``value`` is not one the declaration at ``names`` allows, or None (also when the XSD
        does not declare a simple value there)."""
        node = self.node_at(names)
        for start in range(1, len(names)):  # below an xs:any: the global element it names (a family's HdeApprResult)
            if node is not None:
                break
            if names[start] in self.roots:
                node = self.node_at(names[start:])
        if node is None or node.simple is None:
            return None
        with self._values:
            valid = node.simple.text_is_valid(value)  # a few µs; is_valid builds a context each time (40)
        if valid:
            return None
        reasons = [error.reason for error in node.simple.iter_errors(value)]
        return reasons[0] if reasons else f"{value!r} is not a value the schema allows"

    def normalized(self, root: etree._Element, tolerant: bool, described: str,
                   forms: tuple[str, ...] = ("*",)) -> Normalized:
        """A copy of the document under ``root`` as the XSD lays it out: every element it declares
        renamed into its namespace and every element's children in its order; comments left out.
        ``tolerant``: also without the elements it does not declare and the occurrences of one past
        what it allows, each reported as drift (strict: they stay, after the known ones, and the XSD
        names them). ``forms``: the namespaces a strict document's elements may come in ("*": any);
        an element in another keeps its own, for the XSD to name. ``described``: what the drift
        messages call the schema."""
        node = self.roots.get(local_name(root))
        origins: dict[etree._Element, etree._Element] = {}
        drift: list[Drift] = []
        renames = tolerant or "*" in forms or _namespace(root.tag) in forms
        tag = node.tag if node is not None and renames else root.tag
        namespace = _namespace(tag)
        # the XSD's namespace as the default one, so lxml's error paths read /*/*[2], not /ns0:X/ns0:Y[2]
        top = etree.Element(tag, nsmap={None: namespace} if namespace else None)
        left_out: list[tuple[etree._Element, str]] = []
        self._copy(root, top, node, tolerant, frozenset(forms), origins, left_out, namespace)
        if left_out:  # what the XSD does not know, each at its path: worked out in one pass
            paths = paths_of(root)
            drift = [Drift(kind, local_name(element), paths[element], element.sourceline,
                           f"{local_name(element)} is not an element {described} knows here: accepted, not read"
                           if kind == UNKNOWN_ELEMENT else
                           f"{local_name(element)} occurs more often than {described} allows here: the first "
                           "ones are read, this one is not")
                     for element, kind in left_out]
        return Normalized(etree.ElementTree(top), origins, drift)

    def _copy(self, source: etree._Element, target: etree._Element, node: _Node | None, tolerant: bool,
              forms: frozenset[str], origins: dict, left_out: list, namespace: str) -> None:
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
        counted: dict[str, int] = {}
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
            if tolerant and known is not None:
                if child_node is None and not any(wildcard.is_namespace_allowed(_namespace(tag))
                                                  for wildcard in wildcards):  # xs:any takes the namespaces it names
                    left_out.append((child, UNKNOWN_ELEMENT))
                    continue
                if child_node is not None and child_node.max_occurs is not None:
                    counted[name] = counted.get(name, 0) + 1
                    if counted[name] > child_node.max_occurs:
                        left_out.append((child, REPEATED_ELEMENT))
                        continue
            if child_node is not None and (tolerant or "*" in forms or _namespace(tag) in forms):
                new_tag, inner, order = child_node.tag, child_node.namespace, child_node.order
            elif child_node is None and tolerant:  # under an xs:any: in the namespace of the nearest declared
                new_tag, inner, order = (f"{{{namespace}}}{name}" if namespace else name), namespace, 1 << 30
            else:  # strict, and unknown or in a namespace the entry does not accept: as it is, for the XSD to name
                new_tag, inner, order = tag, namespace, 1 << 30
                child_node = None
            copy = etree.SubElement(target, new_tag)
            copy.tail = child.tail
            in_order, last = in_order and order >= last, order
            placed.append((order, copy))
            self._copy(child, copy, child_node, tolerant, forms, origins, left_out, inner)
        if not in_order:
            target[:] = [element for _, element in sorted(placed, key=lambda pair: pair[0])]


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag[:1] == "{" else ""


def schema_files(xsd: Path) -> list[Path]:
    """An XSD and every file it includes or imports, for telling whether any of them changed."""
    files, queue = [], [xsd.resolve()]
    while queue:
        path = queue.pop()
        if path in files:
            continue
        files.append(path)
        try:
            root = etree.parse(str(path)).getroot()
        except (etree.XMLSyntaxError, OSError):
            continue
        for reference in root.iterchildren("{http://www.w3.org/2001/XMLSchema}include",
                                           "{http://www.w3.org/2001/XMLSchema}import"):
            location = reference.get("schemaLocation")
            if location and "://" not in location:
                queue.append((path.parent / location).resolve())
    return files


class Models:
    """One ``FieldModel`` per XSD and version of its files, built on first use and shared by every catalog
    of the process (the test suite and ``hub reload`` load the catalog many times). A catalog asks once
    per XSD: one reloaded after a schema file changed gets a model of the new files."""

    _models: dict[tuple, FieldModel] = {}
    _lock = threading.Lock()

    @classmethod
    def of(cls, xsd: Path) -> FieldModel:
        # mtime and size: an edit within one tick of a coarse file clock is still seen if it changes the size
        key = tuple((path, stat.st_mtime_ns, stat.st_size)
                    for path in schema_files(xsd) if path.exists() for stat in (path.stat(),))
        with cls._lock:
            model = cls._models.get(key)
            if model is None:
                stale = [other for other in cls._models if other and other[0][0] == key[0][0]]
                for other in stale:  # the same XSD's earlier version: no longer needed
                    del cls._models[other]
                model = cls._models[key] = FieldModel(xsd)
            return model
