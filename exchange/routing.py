"""Declarative routing: which endpoints receive a document, and through which map.

Rules live in ``routes/*.toml``, read in file-name order::

    [[route]]
    name  = "pass-forms-to-zone"
    type  = "SAS121"                      # or a list of types; "SAS2##" stands for every SAS2xx
    from  = ["etps-*"]                    # sending endpoints (glob); omitted: any
    where = ["PassportHead/IoTypecd = 'I'"]  # XPath 1.0 predicates on the business element; all must hold
    to    = [{ endpoint = "zone", map = "sas121-enterprise-to-customs" }]
                                          # envelope = "dxp" wraps the copy in a DxpMsg, "none" unwraps one

    [[route]]
    name = "receipts-back"
    type = ["INV201", "SAS221"]
    answers = ["INV101", "SAS121"]        # to the sender of the original it answers (found by its
                                          # correlation keys in the journal), else:
    to_receivers = true                   # to the endpoints owning the envelope's receiver ids

    [[route]]
    name = "lists-to-customs"
    type = "INV101"
    to = [{ endpoint = "customs" }]
    expect = [{ receipt = "INV201", within = "30m" }]   # an alert when no INV201 answers in 30 minutes

    [[route]]
    name = "closing-notices"
    type = "DEC_RESULT"
    to = [{ endpoint = "zone", map = "dec-result-to-closing-notice", params = { bondInvtNo = "bond_invt_no" } }]
                                          # a map parameter from a correlation key of this document or of
                                          # an earlier one; a destination whose key is found nowhere is skipped

Every rule that matches contributes its destinations (publish-subscribe, as in
BizTalk): a new partner is connected by adding a rule, without editing the
rules of others. The same (endpoint, map) pair is delivered once however many
rules name it. A document no rule matches is rejected, never dropped.
Route tests (``[[test]]`` tables) sit in the same files; see ``routetests``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .envelope import DEC_NS, DSIG_NS, DXP_NS, Document
from .errors import ConfigError, Issue, Unroutable
from .facts import Earlier, correlation_keys
from .spec import Table, load_toml
from .typenames import type_matches

#: prefixes usable in ``where`` predicates
NAMESPACES = {"ds": DSIG_NS, "dxp": DXP_NS, "dec": DEC_NS}


ENVELOPES = ("as-received", "none", "dxp")


@dataclass(frozen=True)
class Destination:
    route: str
    endpoint: str
    map: str | None = None
    envelope: str = "as-received"  # as-received | none (unwrap a DxpMsg) | dxp (wrap for the electronic port)
    params: tuple[tuple[str, str], ...] = ()  # (map parameter, correlation key it takes its value from)


@dataclass(frozen=True)
class Rule:
    name: str
    file: str
    types: tuple[str, ...]
    senders: tuple[str, ...]  # endpoint name globs; empty = any
    predicates: tuple[tuple[str, etree.XPath], ...]
    destinations: tuple[Destination, ...]
    to_receivers: bool
    answers: tuple[str, ...] = ()  # types of the original this document answers: back to its sender
    expects: tuple[tuple[str, float], ...] = ()  # (receipt type, seconds) each destination owes an answer

    def matches(self, message_type: str, endpoint: str, document: Document) -> bool:
        if not type_matches(self.types, message_type):
            return False
        if self.senders and not any(fnmatch.fnmatchcase(endpoint, pattern) for pattern in self.senders):
            return False
        return all(bool(predicate(document.body)) for _, predicate in self.predicates)


def _closest(candidates: list[Earlier], keys: dict[str, str]) -> list[Earlier]:
    """The candidates an answer's numbers point at: none that holds another value of a key the answer
    carries (a declaration with unified number A is not the one an answer about B answers), and of
    the rest those sharing the most of its numbers (the unified number H2010 gave one party's
    declaration tells it from another party's that reused the same ClientSeqNo)."""
    named = {name: value for name, value in keys.items() if name != "business_id"}  # its meaning varies by type
    consistent = [e for e in candidates
                  if not any(e.keys.get(name) not in (None, "", value) for name, value in named.items())]
    shared = {e.document_id: sum(e.keys.get(name) == value for name, value in keys.items()) for e in consistent}
    best = max(shared.values(), default=0)
    return [e for e in consistent if shared[e.document_id] == best]


class Router:
    def __init__(self, rules: list[Rule], endpoint_ids: dict[str, str]):
        self.rules = rules
        self._by_name = {rule.name: rule for rule in rules}
        #: sender/receiver id -> the endpoint that owns it, for ``to_receivers`` rules
        self.endpoint_ids = endpoint_ids

    def needs_facts(self, message_type: str) -> bool:
        """Whether routing this type asks what the journal knows (answers, map parameters)."""
        return any(type_matches(rule.types, message_type) and (rule.answers or any(d.params for d in rule.destinations))
                   for rule in self.rules)

    def rule(self, name: str) -> Rule | None:
        return self._by_name.get(name)

    def original(self, rule: Rule, endpoint: str, earlier: list[Earlier], document: Document
                 ) -> tuple[Earlier | None, bool]:
        """The document a ``rule.answers`` document answers, and whether that choice is ambiguous.

        Candidates are correlated documents of the answered types from another endpoint; when the
        answer names its receivers, only documents from the endpoints owning them (a receipt never
        goes to a party it is not addressed to, however its keys match). One that awaits this
        answer type is preferred, then the latest."""
        owners = {self.endpoint_ids.get(r) for r in document.business.receivers} - {None}
        candidates = [e for e in earlier if type_matches(rule.answers, e.message_type) and e.endpoint != endpoint
                      and (not owners or e.endpoint in owners)]
        if not candidates:
            return None, False
        if not owners and len({e.endpoint for e in candidates}) > 1:
            candidates = _closest(candidates, correlation_keys(document.business))
            if not candidates:  # its numbers contradict every one: it answers none of them
                return None, False
            if len({e.endpoint for e in candidates}) > 1:
                # An answer that names no receiver (H2010's) whose numbers two parties both used, and
                # no number tells them apart: which one it answers is not known, and a guess could
                # send one party's result to another.
                return None, True
        awaiting = [e for e in candidates if document.business.message_type in e.awaiting]
        likely = awaiting or candidates
        return likely[-1], len(likely) > 1

    def route(self, message_type: str, endpoint: str, document: Document, earlier: list[Earlier] = ()
              ) -> list[Destination]:
        destinations: list[Destination] = []
        seen: set[tuple[str, str | None]] = set()

        def add(destination: Destination) -> None:
            if (destination.endpoint, destination.map) not in seen:
                seen.add((destination.endpoint, destination.map))
                destinations.append(destination)

        unknown_receivers: list[str] = []
        unclear: list[str] = []
        for rule in self.rules:
            if not rule.matches(message_type, endpoint, document):
                continue
            for destination in rule.destinations:
                add(destination)
            original, ambiguous = self.original(rule, endpoint, list(earlier), document) if rule.answers else (
                None, False)
            if original is not None:
                add(Destination(rule.name, original.endpoint))
            elif ambiguous:
                parties = sorted({e.endpoint for e in earlier if type_matches(rule.answers, e.message_type)
                                  and e.endpoint != endpoint})
                unclear.append(f"it answers documents of {', '.join(parties)}, and names none of them")
            elif rule.to_receivers:
                for receiver in document.business.receivers:
                    owner = self.endpoint_ids.get(receiver)
                    if owner is None:
                        unknown_receivers.append(receiver)
                    else:
                        add(Destination(rule.name, owner))
        if not destinations:
            reason = f"no route for {message_type} from endpoint {endpoint}"
            if unknown_receivers:
                reason += f" (no endpoint owns receiver id {', '.join(unknown_receivers)})"
            if unclear:
                reason += f" ({'; '.join(unclear)})"
            raise Unroutable(reason, [Issue(reason)])
        return destinations


def _compile_predicate(table: Table, index: int, expression: str) -> etree.XPath:
    try:
        return etree.XPath(expression, namespaces=NAMESPACES)
    except etree.XPathSyntaxError as exc:
        raise ConfigError(table.file, f"{table.key('where')}[{index}]", f"not a valid XPath: {exc}") from exc


def _rule(table: Table) -> Rule:
    name = table.str("name")
    types = table.raw("type")
    if isinstance(types, str):
        types = [types]
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        raise table.error("type", "expected a type name or a list of type names")
    destinations = []
    for entry in table.tables("to"):
        params = entry.table("params")
        destinations.append(Destination(name, entry.str("endpoint"), entry.str("map", None),
                                        entry.choice("envelope", ENVELOPES, "as-received"),
                                        tuple((param, params.str(param)) for param in params.data)))
        params.done()
        entry.done()
    expects = []
    for entry in table.tables("expect"):
        expects.append((entry.str("receipt"), entry.duration("within")))
        entry.done()
    predicates = tuple(
        (expression, _compile_predicate(table, index, expression))
        for index, expression in enumerate(table.str_list("where", []))
    )
    rule = Rule(
        name=name,
        file=table.file,
        types=tuple(types),
        senders=tuple(table.str_list("from", [])),
        predicates=predicates,
        destinations=tuple(destinations),
        to_receivers=table.bool("to_receivers", False),
        answers=tuple(table.str_list("answers", [])),
        expects=tuple(expects),
    )
    if not rule.destinations and not rule.to_receivers and not rule.answers:
        raise table.error("to", "a route needs destinations (to = [...]), answers = [...] or to_receivers = true")
    return rule


def load_rules(folder: Path) -> tuple[list[Rule], list[tuple[Path, Table]]]:
    """Every rule of every ``*.toml`` in ``folder``, and the route tests beside them."""
    rules: list[Rule] = []
    tests: list[tuple[Path, Table]] = []
    names: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        top = load_toml(path)
        for table in top.tables("route"):
            rule = _rule(table)
            table.done()
            if rule.name in names:
                raise table.error("name", f"route {rule.name} is already defined in {names[rule.name]}")
            names[rule.name] = str(path)
            rules.append(rule)
        tests.extend((path, table) for table in top.tables("test"))
        top.raw("gather", None)  # read by gathering.load_gathers
        top.done()
    return rules, tests


def load_gathers(folder: Path) -> list:
    """Every ``[[gather]]`` of every ``*.toml`` in ``folder`` (see ``gathering``)."""
    from .gathering import gather_from

    gathers, names = [], {}
    for path in sorted(folder.glob("*.toml")):
        top = load_toml(path)
        for table in top.tables("gather"):
            gather = gather_from(table, path.parent)
            table.done()
            if gather.name in names:
                raise table.error("name", f"gathering {gather.name} is already defined in {names[gather.name]}")
            names[gather.name] = str(path)
            gathers.append(gather)
    return gathers
