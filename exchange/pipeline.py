"""The pure steps a document goes through, with no I/O: bytes in, a plan out.

    parse (hardened) -> read envelope -> identify type -> authorize -> validate
      -> route -> for each destination: convert -> check the output

``process`` never touches the journal or a transport. It returns an
``Outcome``: the steps it completed (for the journal and the log), and either
the copies to deliver or the error that stopped it. The engine turns that into
journal events, acknowledgements and deliveries.
"""

from __future__ import annotations

import hashlib
import time
from copy import deepcopy
from dataclasses import dataclass, field

from lxml import etree

from . import dxp
from . import envelope as envelopes
from . import streaming
from .catalog import Catalog, DocumentKind
from .config import Endpoint
from .envelope import Document, Envelope
from .errors import (MAX_ISSUES, ConversionError, HubError, InvalidDocument, Issue, RefusedInput,
                     ReusedMessageId, Unauthorized, Unroutable)
from .facts import Earlier, Facts, correlation_keys
from .parsing import Limits, check_tree_size, parse
from .policy import Drift
from .routing import Destination, Router
from .streaming import Lines
from .typenames import type_matches


@dataclass(frozen=True)
class Step:
    """One completed step, journaled as an event."""

    kind: str  # VALIDATED, ROUTED, CONVERTED
    detail: dict
    route: str = ""
    endpoint: str = ""


@dataclass(frozen=True)
class Copy:
    """One document to hand to one destination."""

    destination: Destination
    body: bytes
    message_type: str


@dataclass
class Outcome:
    kind: DocumentKind | None = None
    envelope: Envelope | None = None
    steps: list[Step] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)
    error: HubError | None = None
    seconds: float = 0.0
    answers: Earlier | None = None  # the original this document answers (a receipt's), when known
    ambiguous: bool = False  # several originals matched: the latest was chosen, nothing is learnt from it
    drift: list[Drift] = field(default_factory=list)  # what a tolerant entry accepted without knowing it

    @property
    def accepted(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Context:
    """What the pure steps need to know; built once by the composition root."""

    catalog: Catalog
    router: Router
    endpoints: dict[str, Endpoint]
    limits: Limits
    node_id: str = "DXPHUB0000000001"  # the hub's own electronic-port node id, for DXP it wraps
    facts: Facts | None = None  # earlier documents (the journal's), for receipts and map parameters
    gathers: tuple = ()  # gathering.Gather: answers the hub collects instead of routing them


def read_envelope(data: bytes, context: Context) -> Document:
    """Parse and read the envelope."""
    return _read(data, context)[0]


def _read(data: bytes, context: Context) -> tuple[Document, list[Lines]]:
    """The document and, for one too large for a tree, where its lines were left out (``streaming``)."""
    if len(data) > context.limits.stream_bytes:
        tags = context.catalog.item_tags()
        if len(data) > context.limits.max_tree_bytes and not any(
                tag.rpartition("}")[2].encode() in data for tag in tags):
            check_tree_size(len(data), context.limits)  # no lines to slice by: refused before parsing
        tree, lines = streaming.skeleton(data, context.limits, tags)
        if not lines:
            check_tree_size(len(data), context.limits)
    else:
        tree, lines = parse(data, context.limits), []
    document = envelopes.read(tree, context.limits)
    if not document.size:
        document.size = len(data)
    return document, lines


def check_document(data: bytes, context: Context, file: str | None = None
                   ) -> tuple[DocumentKind, Document, list[Drift]]:
    """Read, identify and validate a document as ``process`` does, whole or in slices (``hub validate``):
    its type, and the drift a tolerant entry accepted."""
    document, lines = _read(data, context)
    kind, document = context.catalog.identify(document)
    kind, document, place = _placed(data, context, kind, document, lines)
    if place is None:
        drift = context.catalog.validate(kind, document, file=file)
    else:
        drift = check_sliced(data, context, kind, document, place, file=file)["drift"]
    return kind, document, drift


def read_document(data: bytes, context: Context) -> tuple[DocumentKind, Document]:
    """Parse, read the envelope and identify the type (what ``hub inspect`` shows)."""
    return context.catalog.identify(read_envelope(data, context))


def _placed(data: bytes, context: Context, kind: DocumentKind, document: Document, lines: list[Lines]
            ) -> tuple[DocumentKind, Document, Lines | None]:
    """The document as it is to be checked: with the lines to read it by in slices, or whole (None).
    Elements left out of a large document that are not its type's own lines (a receipt listing the
    lines of the inventory it answers, a list in a DXP envelope) are no reason to refuse it: it is read
    whole when a tree of its size is allowed (``max_tree_document_bytes``), as any other type is."""
    if not lines:
        return kind, document, None
    body_path = document.tree.getpath(document.body)
    mine = [place for place in lines if place.tag == kind.items_tag and place.parent_path == body_path]
    others = [place for place in lines if place not in mine]
    if not others and document.transport is None:
        return kind, document, mine[0]
    if len(data) <= context.limits.max_tree_bytes:
        whole = envelopes.read(parse(data, context.limits), context.limits)
        whole.size = len(data)
        kind, whole = context.catalog.identify(whole)
        return kind, whole, None
    where = others[0] if others else lines[0]
    name = where.tag.rpartition("}")[2]
    raise RefusedInput(
        f"this {kind.label} is too large to read as one tree, and the hub reads large documents in "
        f"slices of their lines; {name} elements (line {where.first_line}) are not lines of a "
        f"{kind.label}{' in a DXP envelope' if document.transport is not None else ''}: "
        "send it unwrapped, or split into pockets",
        [Issue(f"{name} elements where a large {kind.label} may not have them", line=where.first_line)])


def business_fingerprint(data: bytes, context: Context) -> str:
    """SHA-256 of the canonical business element: equal for two sends of the same business
    content, whatever their envelopes (send time, file name) or their whitespace say, and
    the same whether the document was read whole or in slices."""
    document, lines = _read(data, context)
    try:
        kind, document = context.catalog.identify(document)
    except HubError:
        return fingerprint(document, None).hexdigest()
    kind, document, place = _placed(data, context, kind, document, lines)
    if place is None:
        return fingerprint(document, kind).hexdigest()
    digest = hashlib.sha256(_canonical(document.body))  # the skeleton: the body without its lines
    for _, piece in streaming.slices(data, document.tree, place, context.limits):
        for line in envelopes.read(piece, context.limits).body.iterchildren(place.tag):
            digest.update(_canonical(line))
    return digest.hexdigest()


def fingerprint(document: Document, kind: DocumentKind | None):
    """The business fingerprint of a document read whole: its header, then each line."""
    lines = list(document.body.iterchildren(kind.items_tag)) if kind is not None and kind.items else []
    if not lines:
        return hashlib.sha256(_canonical(document.body))
    header = deepcopy(document.body)
    for line in list(header.iterchildren(kind.items_tag)):
        header.remove(line)
    digest = hashlib.sha256(_canonical(header))
    for line in lines:
        digest.update(_canonical(line))
    return digest


def _canonical(element: etree._Element) -> bytes:
    if element.getparent() is not None and element.tag.startswith("{"):
        # lxml's C14N 2.0 writer cannot start below the element that declares the namespace in use
        # (a receipt's INV201 in Package's xmldsig namespace): canonicalise a copy, which carries it
        element = deepcopy(element)
    return etree.tostring(element, method="c14n2", strip_text=True, with_tail=False)


def authorize(endpoint: Endpoint, kind: DocumentKind, document: Document) -> None:
    """The sender id and the type must be ones this inbound endpoint may use."""
    sender = document.business.sender
    issues = []
    # A format with no sender field (H2010's DEC_RESULT) is vouched for by the endpoint it came on; one
    # that has the field (a DecMessage's DecSign/CopCode) must fill it with an id of this endpoint.
    unsigned = document.business.anonymous
    if sender not in endpoint.ids and not unsigned:
        issues.append(Issue(f"endpoint {endpoint.name} may not send as {sender or '(no sender id)'}; "
                            f"its sender ids are {', '.join(endpoint.ids) or 'none'}"))
    if not type_matches(endpoint.may_send, kind.type):
        issues.append(Issue(f"endpoint {endpoint.name} may not send {kind.type} documents; "
                            f"it may send {', '.join(endpoint.may_send) or 'nothing'}"))
    if issues:
        raise Unauthorized("; ".join(issue.message for issue in issues), issues)


def convert(context: Context, destination: Destination, document: Document, original: bytes,
            converted: tuple[bytes, str, Step] | None = None, kind: DocumentKind | None = None,
            business: bytes | None = None, params: dict[str, str] | None = None
            ) -> tuple[bytes, str, Step | None]:
    """The bytes for one destination, checked against the target's schema before they leave.
    ``converted``: the map's checked output, and ``business`` its business fingerprint, for a
    document read in slices (whose ``document`` is only its skeleton)."""
    receiver = context.endpoints.get(destination.endpoint)
    if receiver is None:
        raise ConversionError(f"route {destination.route} names endpoint {destination.endpoint}, "
                              "which is not configured")
    if destination.map is not None and destination.map not in context.catalog.maps:
        raise ConversionError(f"route {destination.route} names map {destination.map}, which is not in the catalog")
    if destination.map is None:
        message_type = document.business.message_type
        step = None
        body = original
    elif converted is not None:
        body, message_type, step = converted
    else:
        spec = context.catalog.maps[destination.map]
        started = time.perf_counter()
        result = context.catalog.convert(destination.map, document, params)
        body = etree.tostring(result, xml_declaration=True, encoding="UTF-8")
        try:
            target, output = context.catalog.identify(envelopes.read(result, context.limits))
            if (target.type, target.dialect) != spec.target:
                raise ConversionError(
                    f"map {spec.name} produced {target.label}, not {spec.target[0]}/{spec.target[1]}")
            context.catalog.validate(target, output, file=f"output of {spec.name}")
        except ConversionError:
            raise
        except HubError as exc:
            raise ConversionError(
                f"the output of map {spec.name} for {destination.endpoint} is not a valid "
                f"{spec.target[0]}/{spec.target[1]}: {exc.reason}", exc.issues) from exc
        message_type = target.type
        step = Step("CONVERTED", {"map": spec.name, "to": f"{target.type}/{target.dialect}", "ms": _ms(started),
                                  **({"params": params} if params else {})},
                    route=destination.route, endpoint=destination.endpoint)
    if not type_matches(receiver.may_receive, message_type):
        raise ConversionError(
            f"route {destination.route} would send {message_type} to endpoint {receiver.name}, "
            f"which may receive only {', '.join(receiver.may_receive) or 'nothing'}")
    if destination.envelope in ("none", "dxp") and destination.map is None and document.transport is not None:
        body = etree.tostring(document.tree, xml_declaration=True, encoding="UTF-8")  # unwrapped from DXP
    if destination.envelope == "dxp":
        # The receiving node is addressed by its DXP node id; CopMsgId is the same whenever the same
        # business content goes to the same place, whatever its envelope (send time, message id) says.
        node_ids = [i for i in receiver.ids if i.startswith("DXP")] or list(receiver.ids[:1])
        business = business or fingerprint(document, kind).digest()
        body = dxp.wrap(body, message_type=message_type, sender=context.node_id, receivers=tuple(node_ids[:1]),
                        cop_msg_id=dxp.stable_id(business, destination.endpoint, destination.map or ""))
        try:
            context.catalog.validate_transport(etree.fromstring(body).getroottree(), file="DXP wrapper")
        except HubError as exc:
            raise ConversionError(f"the DXP wrapper for {destination.endpoint} is not valid: {exc.reason}",
                                  exc.issues) from exc
    return body, message_type, step


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


def process(data: bytes, endpoint_name: str, source_name: str, context: Context) -> Outcome:
    """Everything the hub decides about one document, without doing any of it."""
    started = time.perf_counter()
    outcome = Outcome()
    try:
        document, lines = _read(data, context)
        outcome.envelope = document.envelope  # known even when the type is not
        kind, document = context.catalog.identify(document)
        outcome.kind, outcome.envelope = kind, document.envelope
        sender = context.endpoints[endpoint_name]
        authorize(sender, kind, document)
        kind, document, place = _placed(data, context, kind, document, lines)
        if place is not None:  # too large for one tree: checked now, converted with the same reading
            return _process_sliced(data, endpoint_name, source_name, context, kind, document, place, outcome,
                                   started)
        outcome.drift = context.catalog.validate(kind, document, file=source_name, declarants=sender.declares_for)
        outcome.steps.append(Step("VALIDATED", {"type": kind.type, "dialect": kind.dialect, "policy": kind.policy,
                                                "xsd": kind.xsd.name, "ms": _ms(started)}))
        routed = time.perf_counter()
        destinations, params = _route(context, kind, endpoint_name, document, outcome)
        outcome.steps.append(Step("ROUTED", {
            "destinations": [{"endpoint": d.endpoint, "route": d.route, "map": d.map} for d in destinations],
            "ms": _ms(routed)}, route=",".join(sorted({d.route for d in destinations}))))
        # Convert for every destination before queueing any: a document goes to all or to none.
        for destination in destinations:
            body, message_type, step = convert(context, destination, document, data, kind=kind,
                                               params=params.get(destination))
            if step is not None:
                outcome.steps.append(step)
            outcome.copies.append(Copy(destination, body, message_type))
    except HubError as exc:
        outcome.error = exc
        outcome.copies = []
        if isinstance(exc, InvalidDocument) and not outcome.drift:
            outcome.drift = exc.drift  # refused for a needed field: what else changed is still worth knowing
    outcome.seconds = time.perf_counter() - started
    return outcome


def _route(context: Context, kind: DocumentKind, endpoint_name: str, document: Document, outcome: Outcome
           ) -> tuple[list[Destination], dict[Destination, dict[str, str]]]:
    """The destinations, with the map parameters each takes from correlation keys. A destination
    whose parameter is found neither in this document's keys nor in an earlier document's is not
    for this document (a clearance result for a declaration no zone inventory names): it is
    skipped, and said so in the ROUTED step. The original a receipt answers goes in ``outcome``."""
    keys = correlation_keys(document.business)
    starts = next((g for g in context.gathers if g.start == kind.type), None)
    asks = context.facts is not None and keys and (context.router.needs_facts(kind.type) or starts is not None)
    earlier = context.facts.correlated(keys) if asks else []
    if starts is not None and keys.get(starts.key):
        already = [e for e in earlier if e.message_type == kind.type and e.keys.get(starts.key) == keys[starts.key]]
        if already:  # one gathering per key: a second start would be forwarded but never decided
            reason = (f"{starts.key} {keys[starts.key]} is already under {starts.name} (document "
                      f"{already[0].document_id} from {already[0].endpoint}); a new one needs a new {starts.key}")
            raise ReusedMessageId(reason, [Issue(reason)])
    gather = next((g for g in context.gathers if g.answer == kind.type), None)
    if gather is not None:  # an answer the hub collects: only the member's own endpoint may give it
        member = keys.get(gather.member, "")
        allowed = gather.endpoint_of(member)
        if allowed != endpoint_name:
            reason = (f"endpoint {endpoint_name} may not answer for {member or '(no ' + gather.member + ')'} in "
                      f"{gather.name}" + (f"; {member}'s answers come from {allowed}" if allowed else
                                          f"; its members are {', '.join(m for m, _ in gather.members)}"))
            raise Unauthorized(reason, [Issue(reason)])
    try:
        candidates = context.router.route(kind.type, endpoint_name, document, earlier)
    except Unroutable:
        if gather is None:
            raise
        candidates = []  # collected, not forwarded
    for rule in context.router.rules:
        if rule.answers and outcome.answers is None and any(d.route == rule.name for d in candidates):
            outcome.answers, outcome.ambiguous = context.router.original(rule, endpoint_name, earlier, document)
    destinations, params, skipped = [], {}, []
    for destination in candidates:
        values = {}
        for param, key in destination.params:
            value = keys.get(key) or next((e.keys[key] for e in reversed(earlier) if e.keys.get(key)), "")
            if not value:
                skipped.append(f"{destination.endpoint} via {destination.map}: no {key} in this document "
                               f"or in any document correlated with it")
                break
            values[param] = value
        else:
            destinations.append(destination)
            params[destination] = values
    if not destinations and gather is None:
        reason = f"no route for {kind.type} from endpoint {endpoint_name}: " + "; ".join(skipped)
        raise Unroutable(reason, [Issue(reason)])
    if gather is not None:
        outcome.steps.append(Step("GATHERED", {"gathering": gather.name, "key": keys.get(gather.key, ""),
                                               "member": keys.get(gather.member, "")}))
    if skipped:
        outcome.steps.append(Step("SKIPPED", {"destinations": skipped}))
    return destinations, params


def _process_sliced(data: bytes, endpoint_name: str, source_name: str, context: Context, kind: DocumentKind,
                    document: Document, place: Lines, outcome: Outcome, started: float) -> Outcome:
    """``process`` for a document read a slice of lines at a time (``streaming``). The routes are
    chosen on its header and trailer (its skeleton), so a route's XPath cannot see its lines."""
    try:
        destinations, params = _route(context, kind, endpoint_name, document, outcome)  # as a whole document's
        maps = {d.map for d in destinations if d.map is not None}
        outputs: dict[str, streaming.SlicedOutput] = {}
        for name in maps:
            if name not in context.catalog.maps:
                raise ConversionError(f"a route names map {name}, which is not in the catalog")
            target = context.catalog.kind_of(*context.catalog.maps[name].target)
            if target is None or not target.items:
                raise ConversionError(f"map {name} converts to a type without declared lines, so a document "
                                      "this large cannot be converted a slice at a time")
            outputs[name] = streaming.SlicedOutput(target.items_tag)

        map_params = {d.map: params.get(d) for d in destinations if d.map is not None}

        def convert_slice(piece: Document) -> None:
            for name, output in outputs.items():
                result = context.catalog.convert(name, piece, map_params.get(name))
                output.add(result, envelopes.read(result, context.limits).body)

        timings = check_sliced(data, context, kind, document, place, file=source_name,
                               declarants=context.endpoints[endpoint_name].declares_for, each=convert_slice)
        outcome.drift = timings["drift"]
        outcome.steps.append(Step("VALIDATED", {"type": kind.type, "dialect": kind.dialect, "policy": kind.policy,
                                                "xsd": kind.xsd.name,
                                                "lines": place.count, "slices": timings["slices"],
                                                "ms": _ms(started)}))
        outcome.steps.append(Step("ROUTED", {
            "destinations": [{"endpoint": d.endpoint, "route": d.route, "map": d.map} for d in destinations],
            "ms": 0.0}, route=",".join(sorted({d.route for d in destinations}))))
        converted: dict[str, tuple[bytes, str, Step]] = {}
        business = (bytes.fromhex(business_fingerprint(data, context))
                    if any(d.envelope == "dxp" for d in destinations) else None)
        for destination in destinations:
            if destination.map is not None and destination.map not in converted:
                converted[destination.map] = _check_output(context, destination, outputs[destination.map])
            body, message_type, step = convert(context, destination, document, data,
                                               converted.get(destination.map or ""), kind, business)
            if step is not None:
                outcome.steps.append(step)
            outcome.copies.append(Copy(destination, body, message_type))
    except HubError as exc:
        outcome.error = exc
        outcome.copies = []
    outcome.seconds = time.perf_counter() - started
    return outcome


def check_sliced(data: bytes, context: Context, kind: DocumentKind, skeleton: Document, place: Lines, *,
                 file: str | None, declarants: tuple[str, ...] | None = None, each=None) -> dict:
    """Validate a document slice by slice, as ``Catalog.validate`` does a whole one; hand every
    slice to ``each`` while no slice has failed. Raises ``InvalidDocument`` listing every issue."""
    issues: list[Issue] = []
    drift: list[Drift] = []
    count = 0
    name = kind.items
    pocket = skeleton.business.pocket
    later_pocket = pocket is not None and pocket[1] > 1
    start = None  # a later pocket's lines run on from the pocket before: from its first line's number
    sequence_reported = False  # one broken numbering shifts every later slice: report it once
    for first, tree in streaming.slices(data, skeleton.tree, place, context.limits):
        count += 1
        _, piece = context.catalog.identify(envelopes.read(tree, context.limits))
        if first == 1 and later_pocket and kind.rules is not None:
            start = kind.rules.first_number(piece.body)
        number_from = start + first - 1 if start is not None and first > 1 else None
        try:
            found = context.catalog.validate(kind, piece, file=file, declarants=declarants, first_item=first,
                                             number_from=number_from)
            drift += found if first == 1 else [d for d in found if f"/{name}" in d.path]
        except InvalidDocument as exc:
            found = exc.issues if first == 1 else [
                issue for issue in exc.issues if issue.path and (f"/{name}[" in issue.path or f"/{name}/" in
                                                                  issue.path or issue.path.endswith(f"/{name}"))]
            if sequence_reported:
                found = [issue for issue in found if "[rule sequence]" not in issue.message]
            sequence_reported = sequence_reported or any("[rule sequence]" in i.message for i in found)
            issues += streaming.renumber(found, place.tag, first)
            if len(issues) >= MAX_ISSUES:
                break
            continue
        if each is not None and not issues:
            each(piece)
    if issues:
        raise InvalidDocument(
            f"{len(issues)} error{'s' if len(issues) > 1 else ''} in this {kind.label} "
            f"(schema {kind.xsd.name}{', business rules' if kind.rules else ''}; read in slices of "
            f"{streaming.SLICE_LINES} lines)", issues[:MAX_ISSUES])
    return {"slices": count, "drift": drift}


def _check_output(context: Context, destination: Destination, output: streaming.SlicedOutput
                  ) -> tuple[bytes, str, Step]:
    """Join a map's converted slices and check the result as a document of the map's target."""
    spec = context.catalog.maps[destination.map]
    started = time.perf_counter()
    body = output.getvalue()
    try:
        document, lines = _read(body, context)
        kind, document = context.catalog.identify(document)
        if (kind.type, kind.dialect) != spec.target:
            raise ConversionError(f"map {spec.name} produced {kind.label}, not {spec.target[0]}/{spec.target[1]}")
        kind, document, place = _placed(body, context, kind, document, lines)
        if place is None:
            context.catalog.validate(kind, document, file=f"output of {spec.name}")
        else:
            check_sliced(body, context, kind, document, place, file=f"output of {spec.name}")
    except ConversionError:
        raise
    except HubError as exc:
        raise ConversionError(
            f"the output of map {spec.name} for {destination.endpoint} is not a valid "
            f"{spec.target[0]}/{spec.target[1]}: {exc.reason}", exc.issues) from exc
    step = Step("CONVERTED", {"map": spec.name, "to": f"{kind.type}/{kind.dialect}", "ms": _ms(started),
                              "sliced": True}, route=destination.route, endpoint=destination.endpoint)
    return body, kind.type, step
