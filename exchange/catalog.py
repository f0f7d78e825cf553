"""The schema catalog: which document types exist, how to recognise them, how to check them.

``schemas/catalog.toml`` ties each (root, namespace, business element) to a
message type, its dialect, its XSD and the paths of its correlation keys, and
names the XSLT maps between dialects. Everything is compiled once, when the
catalog is loaded, so a broken schema or stylesheet stops the hub at start-up
(and fails ``hub lint``) instead of failing the first document.

Validation runs lxml on the hot path. Only a document that has already failed
is handed to xmlschema, whose report is richer (every error, the element path,
the expected content); lxml's own log is the fallback.

Each entry declares its validation policy (``policy``, see ``policy``): strict for what
the hub sends on, tolerant for what an authority sends. ``validate`` raises
``InvalidDocument`` for what refuses a document and returns the drift it accepted.
A *family* entry (``type = "SAS2##"``) identifies receipts of a type the catalog
does not list yet by the name of their business element.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from lxml import etree

from . import envelope as envelopes
from .envelope import Document, text_at, value_of, with_keys
from .errors import MAX_ISSUES, ConfigError, ConversionError, EnvelopeError, InvalidDocument, Issue, UnknownType
from .policy import (POLICIES, STRICT, TOLERANT, UNEXPECTED_VALUE, UNKNOWN_CODE, UNKNOWN_TYPE, Drift, FieldModel,
                     Models, Normalized, general, local_name, path_of, validate_linear)
from .rules import CodeList, Rules, load_code_lists, load_rules
from .spec import Table, load_toml
from .typenames import is_pattern, type_matches

SHAPES_WITH_TYPE_FIELD = ("signature", "package")
RICH_REPORT_MAX_BYTES = 256 * 1024
_NAMESPACE_FORMS = 4  # namespace forms compiled per XSD (its own, none, xmldsig, ...)
AS_IT_IS_MAX_BYTES = 256 * 1024  # a tolerant document larger than this is always read as a copy


ANY_NAMESPACE = "*"


@dataclass(frozen=True)
class DocumentKind:
    """One catalog entry: a message type in one dialect, with the namespace forms it accepts."""

    type: str
    dialect: str
    root: str  # the root element's local name (the first of ``roots``)
    namespace: str  # the XSD's target namespace: the form rules and lines are read in
    body: str
    xsd: Path
    business_id: str  # path (relative to the business element) of the business number
    keys: tuple[tuple[str, str], ...]  # (name, path) pairs of correlation keys
    rules: Rules | None = field(default=None, compare=False)  # business rules beyond the XSD
    items: str = ""  # the repeated lines of the business element, for documents read in slices
    policy: str = STRICT  # strict | tolerant (``policy``)
    namespaces: tuple[str, ...] = ()  # namespace forms of the root it accepts; ("*",): any; (): only ``namespace``
    roots: tuple[str, ...] = ()  # root local names it accepts (receipts: Package, or Signature around it)
    needs: tuple[str, ...] = ()  # what the hub needs present and non-empty: a path, or "a | b" (one of them)
    results: tuple[tuple[str, CodeList], ...] = field(default=(), compare=False)  # (path, open code list) of
    # result codes (manageResult, DealFlag): their shape is checked strictly, a code not in the list is drift
    family: str = ""  # the pattern of a family entry (SAS2##) this kind was identified by

    @property
    def forms(self) -> tuple[str, ...]:
        return self.namespaces or (self.namespace,)

    @property
    def needed(self) -> frozenset[str]:
        """The fields the hub reads (business number, keys, ``needs``): checked strictly in any policy."""
        return frozenset({self.business_id, *(path for _, path in self.keys), *(path for path, _ in self.results),
                          *(path.strip() for need in self.needs for path in need.split("|"))} - {""})

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
        self.namespace = _target_namespace(path)
        self._forms: dict[str, etree.XMLSchema | None] = {self.namespace: self.schema}

    def in_namespace(self, namespace: str) -> etree.XMLSchema | None:
        """This XSD read in another namespace (a chameleon include of it): receipts come in none and in the
        xmldsig one, and a document already valid in its own form needs no normalised copy. None for an XSD
        with a namespace of its own, and past a few forms (a sender cannot have the hub compile a schema
        for every namespace it makes up)."""
        with self._lock:
            if namespace in self._forms:
                return self._forms[namespace]
            if self.namespace or len(self._forms) >= _NAMESPACE_FORMS:
                return None
            wrapper = (f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{namespace}" '
                       f'xmlns="{namespace}" elementFormDefault="qualified">'
                       f'<xs:include schemaLocation="{self.path.resolve().as_uri()}"/></xs:schema>')
            try:
                schema = etree.XMLSchema(etree.fromstring(wrapper.encode("utf-8")))
            except (etree.XMLSchemaParseError, etree.XMLSyntaxError, ValueError):
                schema = None
            self._forms[namespace] = schema
            return schema

    def _rich_schema(self):
        with self._lock:
            if self._rich is None:
                import xmlschema  # imported here: it is slow to load and only failures need it

                self._rich = xmlschema.XMLSchema10(str(self.path))
            return self._rich

    def valid(self, tree: etree._ElementTree) -> bool:
        return not validate_linear(self.schema, tree, 1, first_only=True)

    def plain(self, normalized: Normalized, file: str | None) -> list[Issue]:
        """lxml's findings on a normalised copy, each at the original document's path and line."""
        return [Issue(message, line=normalized.line_of(element) or line,
                      path=normalized.path_of(element) or lxml_path or None, file=file)
                for element, line, message, lxml_path in validate_linear(self.schema, normalized.tree, MAX_ISSUES)]

    def issues(self, tree: etree._ElementTree, file: str | None, size: int,
               copy: Normalized | None = None) -> list[Issue]:
        """Every finding, at the line and path of the element it is about (in the original, when ``tree``
        is the ``copy`` of one): xmlschema's richer report for a small document, lxml's otherwise."""
        found = validate_linear(self.schema, tree, MAX_ISSUES + 1)
        if not found:
            return []
        plain = [Issue(message, line=_line(element, copy) or line, path=_path(element, copy) or lxml_path, file=file)
                 for element, line, message, lxml_path in found[:MAX_ISSUES]]
        if len(found) > MAX_ISSUES:
            plain.append(Issue("more errors than these"))
        # xmlschema's time grows with the document and the number of errors (seconds for a
        # 1 MB document with thousands); it only improves small, ordinary reports.
        if not 0 < size <= RICH_REPORT_MAX_BYTES or len(found) > MAX_ISSUES:
            return plain
        try:
            rich = [self._rich_issue(error, file, copy)
                    for error in itertools.islice(self._rich_schema().iter_errors(tree), MAX_ISSUES + 1)]
        except Exception:  # noqa: BLE001 - the richer report is a bonus, lxml's stands on its own
            rich = []
        return sorted(rich, key=lambda issue: issue.line or 0) or plain

    def _rich_issue(self, error, file: str | None, copy: Normalized | None) -> Issue:
        """xmlschema's finding, at the path and line of the element it is about; one about a child that
        does not belong is put where that child is: "an unknown element is an error that names it"."""
        reason = error.reason or error.message
        element = getattr(error, "elem", None)
        parent, index = element, getattr(error, "index", None)
        if parent is not None and isinstance(index, int) and 0 <= index < len(parent) and isinstance(
                parent[index].tag, str) and reason.startswith("Unexpected child") and \
                f"{local_name(parent[index])}'" in reason:
            element = parent[index]
            namespace, expected = etree.QName(element).namespace, etree.QName(parent).namespace
            if namespace != expected:
                reason += f" ({local_name(element)} is in namespace '{namespace}')" if namespace else \
                    f" ({local_name(element)} has no namespace)"
        if element is None or not isinstance(getattr(element, "tag", None), str):
            return Issue(reason, line=error.sourceline, path=error.path, file=file)
        return Issue(reason, line=_line(element, copy) or error.sourceline, path=_path(element, copy) or error.path,
                     file=file)


class Catalog:
    def __init__(self, kinds: list[DocumentKind], maps: dict[str, MapSpec], source: str,
                 transports: dict[str, Path] | None = None):
        self.kinds = kinds
        self.maps = maps
        self.source = source
        self.transports = transports or {}  # root local name of a transport envelope -> its XSD
        # (root, namespace, body) -> entry; namespace "*" for entries that accept any form
        self._by_shape = {(root, namespace, k.body): k for k in kinds if not k.family
                          for root in k.roots or (k.root,) for namespace in k.forms}
        self._families = [k for k in kinds if k.family]
        self._members: dict[tuple[str, str], DocumentKind] = {}  # (family, type) -> the kind it was read as
        self._models: dict[Path, FieldModel] = {}  # the field models this catalog has asked for (policy.Models)
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
        """Every type name, and every family's pattern (SAS2##)."""
        return {kind.type for kind in self.kinds}

    def knows(self, name: str) -> bool:
        """Whether a type name or pattern (in an endpoint's or a route's list) stands for anything here:
        a catalogued type, a member of a family, or a pattern matching a catalogued type."""
        return any(name == kind.type or (kind.family and type_matches((kind.type,), name))
                   or (is_pattern(name) and type_matches((name,), kind.type)) for kind in self.kinds)

    def _entry(self, root: str, namespace: str, body: str) -> DocumentKind | None:
        kind = self._by_shape.get((root, namespace, body)) or self._by_shape.get((root, ANY_NAMESPACE, body))
        if kind is not None:
            return kind
        family = next((k for k in self._families if root in (k.roots or (k.root,))
                       and (namespace in k.forms or ANY_NAMESPACE in k.forms) and type_matches((k.type,), body)), None)
        if family is None:
            return None
        member = self._members.get((family.type, body))
        if member is None:
            member = self._members.setdefault((family.type, body), replace(family, type=body, body=body,
                                                                            family=family.type))
        return member

    def identify(self, document: Document) -> tuple[DocumentKind, Document]:
        """The catalog entry of a document, and the document with its correlation keys read."""
        business = document.business
        root = document.tree.getroot()
        kind = self._entry(business.root, business.namespace, business.body)
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

    def _model(self, xsd: Path) -> FieldModel:
        model = self._models.get(xsd)
        if model is None:
            model = self._models[xsd] = Models.of(xsd)
        return model

    def model_problems(self) -> list[str]:
        """What ``hub lint`` checks of the field models, which are read only when first needed (xmlschema
        is slow to load): every root an entry accepts is an element its XSD declares."""
        problems = []
        for kind in self.kinds:
            if kind.policy != TOLERANT and len(kind.forms) == 1:
                continue  # checked as it is: no model needed
            try:
                roots = self._model(kind.xsd).roots
            except ConfigError as exc:
                problems.append(str(exc))
                continue
            missing = [root for root in kind.roots or (kind.root,) if root not in roots]
            if missing:
                problems.append(f"{self.source}: {kind.label}: root: {kind.xsd.name} declares no global element "
                                f"{', '.join(missing)}")
        return problems

    def item_tags(self) -> set[str]:
        """The tags of every type's lines: what a document too large for one tree is sliced by."""
        return {kind.items_tag for kind in self.kinds if kind.items}

    def validate(self, kind: DocumentKind, document: Document, file: str | None = None,
                 declarants: tuple[str, ...] | None = None, first_item: int = 1,
                 number_from: int | None = None) -> list[Drift]:
        """XSD first, then the type's business rules, under the entry's policy. Raises
        ``InvalidDocument`` with every problem that refuses the document; returns the drift a
        tolerant entry accepted (and new codes of open code lists, under either policy).

        ``first_item`` > 1: the document is a later slice of a streamed one (``streaming``): its
        lines carry numbers from ``first_item`` on (or from ``number_from``, for a later pocket), and its
        header was checked with the first slice."""
        issues: list[Issue] = []
        if document.transport is not None:  # the wrapper it came in must be valid too
            root = document.transport.getroot()
            xsd = self.transports.get(root.tag.rpartition("}")[2])
            if xsd is not None:
                issues += self._validators[xsd].issues(document.transport, file, 0)
        pocket = document.business.pocket
        first_number = (number_from if number_from is not None
                        else None if pocket is not None and pocket[1] > 1 else first_item)
        only_under = kind.items if first_item > 1 else ""
        if kind.policy == TOLERANT:
            found, drift = self._tolerant(kind, document, file, declarants, first_number, only_under)
        else:
            found, drift = self._strict(kind, document, file, declarants, first_number, only_under)
        issues += found
        if kind.family:
            where = "/" + "/".join(local_name(e) for e in reversed([document.body, *document.body.iterancestors()]))
            drift.insert(0, Drift(UNKNOWN_TYPE, kind.type, where,
                                  document.body.sourceline,
                                  f"{kind.type} is not in the catalog: read as a {kind.family} receipt, by the "
                                  f"fields every one carries ({kind.xsd.name})"))
        drift = _at_most(drift)
        if issues:
            policy = "" if kind.policy == STRICT else ", read tolerantly: only the fields the hub needs refuse it"
            raise InvalidDocument(
                f"{len(issues)} error{'s' if len(issues) > 1 else ''} in this {kind.label} "
                f"(schema {kind.xsd.name}{', business rules' if kind.rules else ''}"
                f"{', transport envelope' if document.transport is not None else ''}{policy})", issues, drift
            )
        return drift

    def _strict(self, kind: DocumentKind, document: Document, file: str | None, declarants, first_number,
                only_under: str) -> tuple[list[Issue], list[Drift]]:
        """The document as it is; one that fails is checked again as a copy in the XSD's order (and, for
        an entry that accepts several, namespace), whose findings are then the report, at the original's
        paths and lines."""
        validator = self._validators[kind.xsd]
        issues: list[Issue] = []
        body, copy = document.body, None
        if not validator.valid(document.tree):
            # renamed into the XSD's namespace: only elements in the form the document's root is in, when
            # the entry accepts that form (a DecMessage without its namespace); any other stays, to be named
            form = envelopes.namespace_of(document.tree.getroot())
            forms = (form,) if form in kind.forms or ANY_NAMESPACE in kind.forms else ()
            copy = self._model(kind.xsd).normalized(document.tree.getroot(), False, kind.xsd.name, forms)
            issues = validator.issues(copy.tree, file, document.size, copy)
            copied = _body_of(copy)
            body = copied if copied is not None else body
        drift: list[Drift] = []
        if kind.rules is not None:
            reported = {issue.path for issue in issues}  # a field the XSD refused already is not repeated
            found = kind.rules.check(body, declarants, file, first_number, only_under)
            if copy is not None:
                found = [_at_original(copy, issue) for issue in found]
            issues += [issue for issue in found if issue.path not in reported]
            drift += [_code_drift(issue if copy is None else _at_original(copy, issue))
                      for issue in kind.rules.open_codes(body, file)]
        return issues, drift

    def _tolerant(self, kind: DocumentKind, document: Document, file: str | None, declarants, first_number,
                  only_under: str) -> tuple[list[Issue], list[Drift]]:
        """The fields the hub needs, each checked on its own against its type; everything else through a
        normalised copy (``policy``), whose findings are drift. A small document already valid as it is
        (known fields, in its own namespace form) needs no copy."""
        validator, model = self._validators[kind.xsd], self._model(kind.xsd)
        drift: list[Drift] = []
        found: list[Issue] = []
        # As it is only when small: libxml2 goes on past the first error and works out the path of each
        # one by counting siblings; and not past an xs:any, which takes what it does not know unchecked.
        as_it_is = (validator.in_namespace(envelopes.namespace_of(document.tree.getroot()))
                    if 0 < document.size <= AS_IT_IS_MAX_BYTES and not model.open and (
                        kind.rules is None or envelopes.namespace_of(document.tree.getroot()) == kind.namespace)
                    else None)
        checked = as_it_is is not None and as_it_is.validate(document.tree)
        if not checked:
            copy = model.normalized(document.tree.getroot(), True, kind.xsd.name)
            drift = list(copy.drift)
            found = validator.plain(copy, file)
            copied = _body_of(copy)
            if kind.rules is not None and copied is not None:
                found += [_at_original(copy, issue)
                          for issue in kind.rules.check(copied, declarants, file, first_number, only_under)]
                drift += [_code_drift(_at_original(copy, issue)) for issue in kind.rules.open_codes(copied, file)]
        elif kind.rules is not None:
            found = kind.rules.check(document.body, declarants, file, first_number, only_under)
            drift += [_code_drift(issue) for issue in kind.rules.open_codes(document.body, file)]
        body = document.body
        body_path = path_of(body)
        # Even when the XSD passed it as it is: it allows several business blocks in some receipts
        # (SasPassportBsc), and two of them naming two numbers leave the one to route by unknown.
        issues = self._needed_values(kind, model, body, body_path, file)
        refused = {general(issue.path or "") for issue in issues}
        for issue in found:
            general_path = general(issue.path or "")
            relative = general_path[len(body_path) + 1:] if general_path.startswith(body_path + "/") else ""
            if relative in kind.needed:
                continue  # the field's own check above has reported it, or found it good
            name = (issue.path or "").rpartition("/")[2].partition("[")[0]
            drift.append(Drift(UNEXPECTED_VALUE, name, issue.path or "", issue.line,
                               f"{issue.message} (a field the hub does not read: accepted)"))
        for path, code_list in kind.results:
            element = body.find(_braced(path))
            value = value_of(element) if element is not None else ""
            if value and value not in code_list.codes and f"{body_path}/{path}" not in refused:
                drift.append(Drift(UNKNOWN_CODE, path.rpartition("/")[2], path_of(element), element.sourceline,
                                   f"{value!r} is not (yet) a {code_list.name} code: a result the hub has not seen, "
                                   "accepted"))
        for need in kind.needs:
            paths = [path.strip() for path in need.split("|")]
            if not any(text_at(body, path) for path in paths):
                what = paths[0] if len(paths) == 1 else "one of " + ", ".join(paths)
                issues.append(Issue(f"{what} is missing or empty, and the hub needs it to identify or correlate "
                                    f"this {kind.type}", line=body.sourceline, path=f"{body_path}/{paths[0]}",
                                    file=file))
        return issues, sorted(drift, key=lambda d: (d.line or 0, d.path))

    def _needed_values(self, kind: DocumentKind, model: FieldModel, body: etree._Element, body_path: str,
                       file: str | None) -> list[Issue]:
        """Each field the hub needs, wherever it stands in the document, checked on its own against the
        simple type its XSD gives it: a structural fault elsewhere (a repeated block, a field in a
        foreign namespace) cannot hide a malformed number the hub would route or correlate by."""
        chain = [local_name(e) for e in reversed([body, *body.iterancestors()])]
        issues = []
        for path in sorted(kind.needed):
            elements = body.findall(_braced(path))
            values: dict[str, etree._Element] = {}
            for element in elements:
                if any(isinstance(child.tag, str) for child in element):
                    issues.append(Issue(f"{path} holds elements where the hub reads a value", line=element.sourceline,
                                        path=path_of(element), file=file))
                    continue
                value = value_of(element)
                error = model.value_error(chain + path.split("/"), value)
                if error is not None:
                    issues.append(Issue(f"{value!r} is not a value of {path} the hub can use ({error})",
                                        line=element.sourceline, path=path_of(element), file=file))
                elif value:
                    values.setdefault(value, element)
            if len(values) > 1:
                second = list(values.values())[1]
                issues.append(Issue(f"{path} appears with different values ({', '.join(sorted(values))}): which one "
                                    f"identifies this {kind.type} is not known", line=second.sourceline,
                                    path=path_of(second), file=file))
        return issues

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


def _path(element: etree._Element | None, copy: Normalized | None) -> str | None:
    """An element's path in the document (its original's, for an element of a copy)."""
    if element is None:
        return None
    return copy.path_of(element) if copy is not None else path_of(element)


def _line(element: etree._Element | None, copy: Normalized | None) -> int | None:
    if element is None:
        return None
    return copy.line_of(element) if copy is not None else element.sourceline


def _at_most(drift: list[Drift]) -> list[Drift]:
    """At most MAX_ISSUES findings, every distinct field among them: a field missing from 100,000 lines
    is one thing to report, not 100,000."""
    if len(drift) <= MAX_ISSUES:
        return drift
    fields: dict[tuple[str, str], Drift] = {}
    for item in drift:
        fields.setdefault((item.kind, item.where), item)
    first = list(fields.values())[:MAX_ISSUES]
    kept = {id(item) for item in first}
    rest = [item for item in drift if id(item) not in kept][:MAX_ISSUES - len(first)]
    return sorted(first + rest, key=lambda d: (d.line or 0, d.path))


def _braced(path: str) -> str:
    """A path of local names as ElementPath in any namespace."""
    return "/".join("{*}" + step for step in path.split("/"))


def _body_of(normalized: Normalized) -> etree._Element | None:
    """The business element of a normalised copy, found as the envelope reader finds it."""
    try:
        return envelopes.read(normalized.tree).body
    except EnvelopeError:
        return None


def _at_original(normalized: Normalized, issue: Issue) -> Issue:
    """An issue found on a normalised copy, at the original document's path and line."""
    element = normalized.element_at(issue.path)
    path = normalized.path_of(element)
    return replace(issue, path=path, line=normalized.line_of(element) or issue.line) if path else issue


def _code_drift(issue: Issue) -> Drift:
    name = (issue.path or "").rpartition("/")[2].partition("[")[0]
    return Drift(UNKNOWN_CODE, name, issue.path or "", issue.line,
                 f"{issue.message}: a code the hub has not seen, accepted")


def _names(entry: Table, key: str, default: list[str] | None = None) -> tuple[str, ...]:
    """A key that holds one name or a list of them."""
    value = entry.raw(key, default)
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names) or (
            default is None and not names):
        raise entry.error(key, "expected a name or a list of names")
    return tuple(names)


def _results(entry: Table, code_lists: dict[str, CodeList]) -> tuple[tuple[str, CodeList], ...]:
    """``results = { "HdeApprResult/manageResult" = "inv201-result" }``: each result code's open code list."""
    table = entry.table("results")
    results = []
    for path in table.data:
        name = table.str(path)
        code_list = code_lists.get(name)
        if code_list is None:
            raise table.error(path, f"no code list schemas/codes/{name}.toml")
        if not code_list.open:
            raise table.error(path, f"schemas/codes/{name}.toml must be open = true: customs adds result codes "
                                    "without notice, and a new one must never refuse a receipt")
        results.append((path, code_list))
    table.done()
    return tuple(results)


def _target_namespace(xsd: Path) -> str:
    try:
        return etree.parse(str(xsd)).getroot().get("targetNamespace", "")
    except (etree.XMLSyntaxError, OSError) as exc:
        raise ConfigError(str(xsd), "-", f"the schema cannot be read: {exc}") from exc


def _document_kind(entry: Table, base: Path, code_lists, rule_sets: dict) -> DocumentKind:
    """One ``[[document]]`` entry, checked."""
    xsd = base / entry.str("xsd")
    if not xsd.is_file():
        raise entry.error("xsd", f"no such file: {xsd}")
    target = _target_namespace(xsd)
    forms = _names(entry, "namespace", [""])
    if ANY_NAMESPACE not in forms and forms[0] != target:
        raise entry.error("namespace", f"the first namespace form must be the one {xsd.name} describes "
                                       f"({target!r}), not {forms[0]!r}")
    keys_table = entry.table("keys")
    keys = tuple((name, keys_table.str(name)) for name in keys_table.data)
    rules = None
    if entry.str("rules", ""):
        rules_file = base / entry.str("rules")
        if not rules_file.is_file():
            raise entry.error("rules", f"no such file: {rules_file}")
        key = (rules_file, target)  # rules read the document as the XSD names it (a copy, if renamed)
        rules = rule_sets.get(key) or rule_sets.setdefault(key, load_rules(rules_file, code_lists, target))
    type_ = entry.str("type")
    roots = _names(entry, "root")
    kind = DocumentKind(
        type=type_,
        dialect=entry.str("dialect"),
        root=roots[0],
        namespace=target,
        body=entry.str("body"),
        xsd=xsd,
        business_id=entry.str("business_id", ""),
        keys=keys,
        rules=rules,
        items=entry.str("items", ""),
        policy=entry.choice("policy", POLICIES),
        namespaces=forms if forms != (target,) else (),
        roots=roots,
        needs=tuple(entry.str_list("needs", [])),
        results=_results(entry, code_lists),
        family=type_ if is_pattern(type_) else "",
    )
    if kind.family and kind.body != kind.type:
        raise entry.error("body", f"a family entry ({kind.type}) names its members by their business element: "
                                  f"body must be {kind.type!r} too")
    for key in ("needs", "results"):
        if getattr(kind, key) and kind.policy != TOLERANT:
            raise entry.error(key, f"only a tolerant entry has {key}: a strict one's XSD says what is required")
    return kind


def load(catalog_file: Path) -> Catalog:
    """Load ``catalog.toml``; paths in it are relative to its own folder."""
    top = load_toml(catalog_file)
    base = catalog_file.parent
    code_lists = load_code_lists(base / "codes")
    rule_sets: dict[tuple[Path, str], Rules] = {}
    kinds: list[DocumentKind] = []
    seen: dict[tuple[str, str, str], str] = {}
    for entry in top.tables("document"):
        kind = _document_kind(entry, base, code_lists, rule_sets)
        entry.done()
        for root in kind.roots:
            for namespace in kind.forms:
                shape = (root, namespace, kind.body)
                clashes = [seen[other] for other in seen if other[0] == root and other[2] == kind.body and (
                    other[1] == namespace or ANY_NAMESPACE in (other[1], namespace))]
                if clashes:
                    raise entry.error("body", f"root {root} / namespace {namespace!r} / body {kind.body} "
                                              f"is already catalogued as {clashes[0]}")
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
