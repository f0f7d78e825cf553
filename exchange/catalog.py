"""The schema catalog: which document types exist, how to recognise them, how to check them.

``schemas/catalog.toml`` ties each (root, namespace, business element) to a
message type, its dialect, its XSD and the paths of its correlation keys, and
names the XSLT maps between dialects. Everything is compiled once, when the
catalog is loaded, so a broken schema or stylesheet stops the hub at start-up
(and fails ``hub lint``) instead of failing the first document.

Validation runs lxml on the hot path. Only a document that has already failed
is handed to xmlschema, whose report is richer (every error, the element path,
the expected content); lxml's own log is the fallback.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .envelope import Document, text_at, with_keys
from .errors import MAX_ISSUES, ConfigError, ConversionError, InvalidDocument, Issue, UnknownType
from .rules import Rules, load_code_lists, load_rules
from .spec import load_toml

SHAPES_WITH_TYPE_FIELD = ("signature", "package")
RICH_REPORT_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class DocumentKind:
    """One catalog entry: a message type in one dialect and one namespace form."""

    type: str
    dialect: str
    root: str
    namespace: str
    body: str
    xsd: Path
    business_id: str  # path (relative to the business element) of the business number
    keys: tuple[tuple[str, str], ...]  # (name, path) pairs of correlation keys
    rules: Rules | None = field(default=None, compare=False)  # business rules beyond the XSD
    items: str = ""  # the repeated lines of the business element, for documents read in slices

    @property
    def items_tag(self) -> str:
        """The lines' tag as lxml spells it ({namespace}name)."""
        return f"{{{self.namespace}}}{self.items}" if self.namespace and self.items else self.items

    @property
    def label(self) -> str:
        return f"{self.type}/{self.dialect}"


@dataclass(frozen=True)
class MapSpec:
    name: str
    xsl: Path
    source: tuple[str, str]  # (type, dialect)
    target: tuple[str, str]
    params: tuple[str, ...] = ()  # stylesheet parameters the caller must supply (facts from the journal)


class _Validator:
    """One compiled XSD: lxml always, xmlschema on demand for failed documents."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.schema = etree.XMLSchema(etree.parse(str(path)))
        except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
            raise ConfigError(str(path), "-", f"the schema does not compile: {exc}") from exc
        self._rich = None
        self._lock = threading.Lock()

    def _rich_schema(self):
        with self._lock:
            if self._rich is None:
                import xmlschema  # imported here: it is slow to load and only failures need it

                self._rich = xmlschema.XMLSchema10(str(self.path))
            return self._rich

    def issues(self, tree: etree._ElementTree, file: str | None, size: int) -> list[Issue]:
        if self.schema.validate(tree):
            return []
        log = self.schema.error_log
        plain = [Issue(entry.message, line=entry.line or None, path=entry.path or None, file=file)
                 for entry in itertools.islice(log, MAX_ISSUES)]
        if len(log) > MAX_ISSUES:
            plain.append(Issue(f"{len(log) - MAX_ISSUES} more errors"))
        # xmlschema's time grows with the document and the number of errors (seconds for a
        # 1 MB document with thousands); it only improves small, ordinary reports.
        if not 0 < size <= RICH_REPORT_MAX_BYTES or len(log) > MAX_ISSUES:
            return plain
        try:
            rich = [
                Issue(error.reason or error.message, line=error.sourceline, path=error.path, file=file)
                for error in itertools.islice(self._rich_schema().iter_errors(tree), MAX_ISSUES + 1)
            ]
        except Exception:  # noqa: BLE001 - the richer report is a bonus, lxml's stands on its own
            rich = []
        return rich or plain


class Catalog:
    def __init__(self, kinds: list[DocumentKind], maps: dict[str, MapSpec], source: str,
                 transports: dict[str, Path] | None = None):
        self.kinds = kinds
        self.maps = maps
        self.source = source
        self.transports = transports or {}  # root local name of a transport envelope -> its XSD
        self._by_shape = {(k.root, k.namespace, k.body): k for k in kinds}
        self._validators: dict[Path, _Validator] = {}
        for xsd in [kind.xsd for kind in kinds] + list(self.transports.values()):
            if xsd not in self._validators:
                self._validators[xsd] = _Validator(xsd)
        self._transforms: dict[str, etree.XSLT] = {}
        for spec in maps.values():
            try:
                # A map reads its input and writes its output: no files, no network, ever.
                self._transforms[spec.name] = etree.XSLT(etree.parse(str(spec.xsl)),
                                                         access_control=etree.XSLTAccessControl.DENY_ALL)
            except (etree.XSLTParseError, etree.XMLSyntaxError, OSError) as exc:
                raise ConfigError(str(spec.xsl), "-", f"the stylesheet does not compile: {exc}") from exc

    # -- recognising ---------------------------------------------------------

    def types(self) -> set[str]:
        return {kind.type for kind in self.kinds}

    def identify(self, document: Document) -> tuple[DocumentKind, Document]:
        """The catalog entry of a document, and the document with its correlation keys read."""
        business = document.business
        root = document.tree.getroot()
        kind = self._by_shape.get((business.root, business.namespace, business.body))
        if kind is None:
            where = f"{{{business.namespace}}}" if business.namespace else ""
            raise UnknownType(
                f"unknown document type {business.message_type!r}: the catalog has no entry for root "
                f"{where}{business.root} with business element {business.body}",
                [Issue(f"unknown document type {business.message_type!r} "
                       f"(root {where}{business.root}, business element {business.body})",
                       line=root.sourceline, path=f"/{business.root}")],
            )
        if business.shape in SHAPES_WITH_TYPE_FIELD and business.message_type != kind.type:
            raise UnknownType(
                f"the envelope says message_type {business.message_type!r} but the business element "
                f"{business.body} is a {kind.type}",
                [Issue(f"message_type {business.message_type!r} does not match business element "
                       f"{business.body} ({kind.type})", path="EnvelopInfo/message_type")],
            )
        keys = {name: text_at(document.body, path) for name, path in kind.keys}
        business_id = text_at(document.body, kind.business_id) if kind.business_id else ""
        return kind, with_keys(document, {k: v for k, v in keys.items() if v}, business_id, kind.type)

    # -- checking ------------------------------------------------------------

    def validate_transport(self, tree: etree._ElementTree, file: str | None = None) -> None:
        """Check a transport envelope (a DxpMsg) against its schema."""
        xsd = self.transports.get(tree.getroot().tag.rpartition("}")[2])
        if xsd is None:
            raise UnknownType(f"no schema for the transport envelope {tree.getroot().tag}")
        issues = self._validators[xsd].issues(tree, file, 0)
        if issues:
            raise InvalidDocument(f"{len(issues)} error(s) against {xsd.name}", issues)

    def kind_of(self, type_: str, dialect: str) -> DocumentKind | None:
        """The first entry of a type in a dialect (the map targets name no namespace form)."""
        return next((kind for kind in self.kinds if (kind.type, kind.dialect) == (type_, dialect)), None)

    def item_tags(self) -> set[str]:
        """The tags of every type's lines: what a document too large for one tree is sliced by."""
        return {kind.items_tag for kind in self.kinds if kind.items}

    def validate(self, kind: DocumentKind, document: Document, file: str | None = None,
                 declarants: tuple[str, ...] | None = None, first_item: int = 1,
                 number_from: int | None = None) -> None:
        """XSD first, then the type's business rules; every problem of both is reported.

        ``first_item`` > 1: the document is a later slice of a streamed one (``streaming``): its
        lines carry numbers from ``first_item`` on (or from ``number_from``, for a later pocket), and its
        header was checked with the first slice."""
        issues = []
        if document.transport is not None:  # the wrapper it came in must be valid too
            root = document.transport.getroot()
            xsd = self.transports.get(root.tag.rpartition("}")[2])
            if xsd is not None:
                issues += self._validators[xsd].issues(document.transport, file, 0)
        issues += self._validators[kind.xsd].issues(document.tree, file, document.size)
        if kind.rules is not None:
            reported = {issue.path for issue in issues}  # a field the XSD refused already is not repeated
            pocket = document.business.pocket
            first_number = (number_from if number_from is not None
                            else None if pocket is not None and pocket[1] > 1 else first_item)
            only_under = kind.items if first_item > 1 else ""
            issues += [issue for issue in kind.rules.check(document.body, declarants, file, first_number, only_under)
                       if issue.path not in reported]
        if issues:
            raise InvalidDocument(
                f"{len(issues)} error{'s' if len(issues) > 1 else ''} in this {kind.label} "
                f"(schema {kind.xsd.name}{', business rules' if kind.rules else ''}"
                f"{', transport envelope' if document.transport is not None else ''})", issues
            )

    # -- converting ----------------------------------------------------------

    def convert(self, map_name: str, document: Document, params: dict[str, str] | None = None
                ) -> etree._ElementTree:
        """Apply a map. The caller validates the output as a document of the map's target."""
        params = params or {}
        missing = [name for name in self.maps[map_name].params if name not in params]
        if missing:
            raise ConversionError(f"map {map_name} needs {', '.join(missing)}, which this route does not supply")
        try:
            result = self._transforms[map_name](
                document.tree, **{name: etree.XSLT.strparam(value) for name, value in params.items()})
        except etree.XSLTApplyError as exc:
            raise ConversionError(f"map {map_name} failed: {exc}") from exc
        if result.getroot() is None:
            raise ConversionError(f"map {map_name} produced no document")
        return result


def load(catalog_file: Path) -> Catalog:
    """Load ``catalog.toml``; paths in it are relative to its own folder."""
    top = load_toml(catalog_file)
    base = catalog_file.parent
    code_lists = load_code_lists(base / "codes")
    rule_sets: dict[tuple[Path, str], Rules] = {}
    kinds: list[DocumentKind] = []
    seen: dict[tuple[str, str, str], str] = {}
    for entry in top.tables("document"):
        xsd = base / entry.str("xsd")
        if not xsd.is_file():
            raise entry.error("xsd", f"no such file: {xsd}")
        keys_table = entry.table("keys")
        keys = tuple((name, keys_table.str(name)) for name in keys_table.data)
        rules = None
        if entry.str("rules", ""):
            rules_file = base / entry.str("rules")
            if not rules_file.is_file():
                raise entry.error("rules", f"no such file: {rules_file}")
            namespace = entry.str("namespace", "")
            key = (rules_file, namespace)
            rules = rule_sets.get(key) or rule_sets.setdefault(key, load_rules(rules_file, code_lists, namespace))
        kind = DocumentKind(
            type=entry.str("type"),
            dialect=entry.str("dialect"),
            root=entry.str("root"),
            namespace=entry.str("namespace", ""),
            body=entry.str("body"),
            xsd=xsd,
            business_id=entry.str("business_id", ""),
            keys=keys,
            rules=rules,
            items=entry.str("items", ""),
        )
        entry.done()
        shape = (kind.root, kind.namespace, kind.body)
        if shape in seen:
            raise entry.error("body", f"root {kind.root} / namespace {kind.namespace!r} / body {kind.body} "
                                      f"is already catalogued as {seen[shape]}")
        seen[shape] = kind.label
        kinds.append(kind)
    transports_table = top.table("transports")
    transports = {}
    for root in transports_table.data:
        transports[root] = base / transports_table.str(root)
        if not transports[root].is_file():
            raise transports_table.error(root, f"no such file: {transports[root]}")
    labels = {(k.type, k.dialect) for k in kinds}
    maps: dict[str, MapSpec] = {}
    for entry in top.tables("map"):
        name = entry.str("name")
        source, target = entry.table("from", required=True), entry.table("to", required=True)
        spec = MapSpec(
            name=name,
            xsl=base / entry.str("xsl"),
            source=(source.str("type"), source.str("dialect")),
            target=(target.str("type"), target.str("dialect")),
            params=tuple(entry.str_list("params", [])),
        )
        for table, pair in ((source, spec.source), (target, spec.target)):
            table.done()
            if pair not in labels:
                raise table.error("type", f"{pair[0]}/{pair[1]} is not in the catalog")
        entry.done()
        if not spec.xsl.is_file():
            raise entry.error("xsl", f"no such file: {spec.xsl}")
        if name in maps:
            raise entry.error("name", f"map {name} is defined twice")
        maps[name] = spec
    top.done()
    return Catalog(kinds, maps, str(catalog_file), transports)
