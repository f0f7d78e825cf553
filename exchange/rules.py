"""Business rules beyond the XSD, kept as data a partner agency can maintain.

Why TOML tables and not Schematron: the rules customs and the agencies change
are "this field takes codes from that list", "this number has that shape",
"these lines must add up", "line numbers run 1, 2, 3". A table per type says
exactly that, a code list is a file of codes and names, and `hub lint` checks
both without running anything. Schematron would ask the same people to write
XPath assertions and would run as XSLT. The five kinds of rule are written
once, here, in Python; what they apply to lives in ``schemas/rules/`` and the
code lists in ``schemas/codes/``.

A rules file (``schemas/rules/<TYPE>-<dialect>.toml``), paths by local name
from the business element::

    [[code]]      path = "InvtHeadType/ImpexpMarkcd"   list = "ie-mark"
    [[shape]]     path = "InvtHeadType/BondInvtNo"     shape = "bond-invt-no"
    [[total]]     items = "InvtListType"  total = "DclTotalAmt"  quantity = "DclQty"
                  price = "DclUprcAmt"    tolerance = 0.01   (at least; more for large quantities,
                                                              since prices are rounded to 4 decimals)
    [[sequence]]  items = "InvtListType"  number = "GdsSeqno"
    [[declarant]] path = "InvtHeadType/DclEtpsno"

Empty fields are not checked: real documents leave unassigned numbers empty,
and the XSD says which fields are required. A code list marked ``open = true``
(receipt result codes, which customs extends without notice) never refuses a
document: a code it lacks is reported as drift (``open_codes``). Every violation is an ``Issue``
with the line, the element path and the rule, like a schema error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .envelope import value_of
from .errors import ConfigError, Issue
from .spec import Table, load_toml

# The shapes of numbers the customs formats use.
_SHAPES = {
    "bond-invt-no": (re.compile(r"^QD\d{4}\d{2}[IE]\d{9}$"),
                     "QD + 4-digit customs code + 2-digit year + I/E + 9 digits"),
    "enterprise-number": (re.compile(r"^[0-9A-Z]{10}$"), "10 digits or capital letters"),
    "social-credit-code": (re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"),
                           "18 characters (GB 32100-2015) with a valid check character"),
    "unified-number": (re.compile(r"^\d{18}$"), "18 digits"),
    "passport-no": (re.compile(r"^Z\d{4}[IE]\d{18}$"), "Z + customs code + I/E + 18 digits"),
}

# GB 32100-2015: the 18th character of a social credit code is a checksum.
_SCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_SCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def social_credit_code_valid(code: str) -> bool:
    if len(code) != 18 or any(c not in _SCC_CHARS for c in code):
        return False
    total = sum(_SCC_CHARS.index(c) * w for c, w in zip(code[:17], _SCC_WEIGHTS))
    return _SCC_CHARS[(31 - total % 31) % 31] == code[17]


def _compile(path: str, namespace: str, tail: str = "") -> etree.XPath:
    """A slash path of local names as a compiled XPath in the document's namespace (evaluated in C)."""
    steps = [f"n:{step}" if namespace else step for step in path.split("/")]
    return etree.XPath("/".join(steps) + tail, namespaces={"n": namespace} if namespace else None)


class _Lines:
    """The repeated lines of a document and, per line, the fields a rule reads: one XPath per field."""

    def __init__(self, items: str, fields: tuple[str, ...], namespace: str):
        self.lines = _compile(items, namespace)
        self.fields = {name: _compile(f"{items}/{name}", namespace) for name in fields}

    def read(self, body: etree._Element) -> list[tuple[etree._Element, dict[str, etree._Element]]]:
        by_line: dict[etree._Element, dict[str, etree._Element]] = {line: {} for line in self.lines(body)}
        for name, select in self.fields.items():
            for element in select(body):
                by_line[element.getparent()][name] = element
        return list(by_line.items())


@dataclass(frozen=True)
class CodeList:
    name: str
    codes: frozenset[str]
    open: bool = False  # a list customs extends without notice (receipt result codes): new codes are drift


def load_code_lists(folder: Path) -> dict[str, CodeList]:
    lists = {}
    for path in sorted(folder.glob("*.toml")):
        top = load_toml(path)
        name = top.str("name")
        open_ = top.bool("open", False)
        codes = top.table("codes", required=True)
        lists[path.stem] = CodeList(name, frozenset(codes.data), open_)
        codes._read.update(codes.data)  # every key is a code
        top.done()
    return lists


class Rules:
    """The compiled rules of one catalog entry."""

    def __init__(self, file: str, code: list, shape: list, total: list, sequence: list, declarant: list):
        self.file = file
        self.code, self.shape, self.total, self.sequence, self.declarant = code, shape, total, sequence, declarant

    def check(self, body: etree._Element, declarants: tuple[str, ...] | None, file: str | None,
              first_number: int | None = 1, only_under: str = "") -> list[Issue]:
        """Every violation.

        ``first_number``: the number the first line must carry; None for a later pocket of a split
        document, whose numbers run on from the pocket before (from its first line's number).
        ``only_under``: check only the rules on the lines named so (a later slice of a streamed
        document, whose header the first slice checked already)."""
        tree = body.getroottree()
        issues: list[Issue] = []

        def wanted(path: str) -> bool:
            return not only_under or path.split("/", 1)[0] == only_under

        def issue(element, rule: str, message: str) -> None:
            issues.append(Issue(f"{message} [rule {rule}]", line=element.sourceline, path=tree.getpath(element),
                                file=file))

        for path, select, code_list, list_name in self.code:
            if not wanted(path) or code_list.open:
                continue
            for element in select(body):
                value = value_of(element)
                if value and value not in code_list.codes:
                    issue(element, f"code:{list_name}", f"{value!r} is not a {code_list.name} code "
                                                        f"(schemas/codes/{list_name}.toml)")
        for path, select, shape in self.shape:
            if not wanted(path):
                continue
            pattern, described = _SHAPES[shape]
            for element in select(body):
                value = value_of(element)
                if not value:
                    continue
                if not pattern.match(value) or (shape == "social-credit-code" and not social_credit_code_valid(value)):
                    issue(element, f"shape:{shape}", f"{value!r} is not a {shape}: {described}")
        for lines, total, quantity, price, tolerance in self.total:
            for _, fields in lines.read(body):
                amounts = [fields.get(name) for name in (total, quantity, price)]
                texts = [value_of(a) if a is not None else "" for a in amounts]
                if not all(texts):
                    continue
                try:
                    # floats: amounts have at most 2-4 decimals and 15 significant digits; the
                    # error of qty × price stays far below the one-cent tolerance
                    stated, qty, unit = (float(text) for text in texts)
                except ValueError:
                    continue  # not a number: the XSD reports it
                # a unit price rounded to 4 decimals may be off by half a unit of the 4th per piece
                allowed = max(tolerance, abs(qty) * 0.00005) + 1e-9
                if abs(stated - qty * unit) > allowed:
                    issue(amounts[0], "total", f"{total} {texts[0]} is not {quantity} {texts[1]} × {price} "
                                               f"{texts[2]} = {qty * unit:.2f} (tolerance {allowed:.4f})")
        for lines, number in self.sequence:
            seen: set[int] = set()
            broken = False  # one gap shifts every later number: report the first break, not all of them
            offset = None if first_number is None else first_number - 1
            for position, (_, fields) in enumerate(lines.read(body), 1):
                element = fields.get(number)
                value = value_of(element) if element is not None else ""
                if not (value.isascii() and value.isdigit()):
                    continue
                if offset is None:
                    offset = int(value) - position
                position += offset
                if int(value) in seen:
                    issue(element, "sequence", f"{number} {value} is used twice")
                elif int(value) != position and not broken:
                    broken = True
                    issue(element, "sequence", f"{number} {value} at line {position}: "
                                               f"numbers must run 1, 2, 3 … without gaps")
                seen.add(int(value))
        if declarants is not None:
            for path, select in self.declarant:
                if not wanted(path):
                    continue
                for element in select(body):
                    value = value_of(element)
                    if value and value not in declarants:
                        issue(element, "declarant", f"the sending endpoint may not declare for enterprise "
                                                    f"{value}; it declares for {', '.join(declarants) or 'none'}")
        return issues


    def open_codes(self, body: etree._Element, file: str | None) -> list[Issue]:
        """Codes an open code list does not have yet: never a reason to refuse, always worth a warning."""
        tree = body.getroottree()
        return [Issue(f"{value!r} is not (yet) a {code_list.name} code (schemas/codes/{list_name}.toml)",
                      line=element.sourceline, path=tree.getpath(element), file=file)
                for path, select, code_list, list_name in self.code if code_list.open
                for element in select(body)
                for value in [value_of(element)] if value and value not in code_list.codes]

    def first_number(self, body: etree._Element) -> int | None:
        """The number the first line carries, by the first numbering rule (None: no such rule or number)."""
        for lines, number in self.sequence:
            for _, fields in lines.read(body)[:1]:
                element = fields.get(number)
                value = value_of(element) if element is not None else ""
                if value.isascii() and value.isdigit():
                    return int(value)
        return None


def load_rules(path: Path, code_lists: dict[str, CodeList], namespace: str = "") -> Rules:
    """The rules in ``path``, compiled for documents in ``namespace``."""
    top = load_toml(path)

    def entries(kind: str) -> list[Table]:
        return top.tables(kind)

    code, shape, total, sequence, declarant = [], [], [], [], []
    for entry in entries("code"):
        name = entry.str("list")
        if name not in code_lists:
            raise entry.error("list", f"no code list schemas/codes/{name}.toml")
        path = entry.str("path")
        code.append((path, _compile(path, namespace), code_lists[name], name))
        entry.done()
    for entry in entries("shape"):
        kind = entry.choice("shape", tuple(_SHAPES))
        path = entry.str("path")
        shape.append((path, _compile(path, namespace), kind))
        entry.done()
    for entry in entries("total"):
        names = (entry.str("total"), entry.str("quantity"), entry.str("price"))
        total.append((_Lines(entry.str("items"), names, namespace), *names, entry.float("tolerance", 0.01)))
        entry.done()
    for entry in entries("sequence"):
        sequence.append((_Lines(entry.str("items"), (entry.str("number"),), namespace), entry.str("number")))
        entry.done()
    for entry in entries("declarant"):
        path = entry.str("path")
        declarant.append((path, _compile(path, namespace)))
        entry.done()
    top.done()
    if not any((code, shape, total, sequence, declarant)):
        raise ConfigError(str(path), "-", "a rules file with no rules")
    return Rules(str(path), code, shape, total, sequence, declarant)
