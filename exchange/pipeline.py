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
from dataclasses import dataclass, field

from lxml import etree

from . import dxp
from . import envelope as envelopes
from .catalog import Catalog, DocumentKind
from .config import Endpoint
from .envelope import Document, Envelope
from .errors import ConversionError, HubError, Issue, Unauthorized
from .parsing import Limits, parse
from .routing import Destination, Router


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


def read_envelope(data: bytes, context: Context) -> Document:
    """Parse and read the envelope."""
    document = envelopes.read(parse(data, context.limits), context.limits)
    if not document.size:
        document.size = len(data)
    return document


def read_document(data: bytes, context: Context) -> tuple[DocumentKind, Document]:
    """Parse, read the envelope and identify the type (what ``hub inspect`` shows)."""
    return context.catalog.identify(read_envelope(data, context))


def business_fingerprint(data: bytes, context: Context) -> str:
    """SHA-256 of the canonical business element: equal for two sends of the same business
    content, whatever their envelopes (send time, file name) say."""
    document = read_envelope(data, context)
    return hashlib.sha256(etree.tostring(document.body, method="c14n")).hexdigest()


def authorize(endpoint: Endpoint, kind: DocumentKind, document: Document) -> None:
    """The sender id and the type must be ones this inbound endpoint may use."""
    sender = document.business.sender
    issues = []
    if sender not in endpoint.ids:
        issues.append(Issue(f"endpoint {endpoint.name} may not send as {sender or '(no sender id)'}; "
                            f"its sender ids are {', '.join(endpoint.ids) or 'none'}"))
    if kind.type not in endpoint.may_send:
        issues.append(Issue(f"endpoint {endpoint.name} may not send {kind.type} documents; "
                            f"it may send {', '.join(endpoint.may_send) or 'nothing'}"))
    if issues:
        raise Unauthorized("; ".join(issue.message for issue in issues), issues)


def convert(context: Context, destination: Destination, document: Document,
            original: bytes) -> tuple[bytes, str, Step | None]:
    """The bytes for one destination, checked against the target's schema before they leave."""
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
    else:
        spec = context.catalog.maps[destination.map]
        started = time.perf_counter()
        result = context.catalog.convert(destination.map, document)
        body = etree.tostring(result, xml_declaration=True, encoding="UTF-8")
        try:
            kind, output = context.catalog.identify(envelopes.read(result, context.limits))
            if (kind.type, kind.dialect) != spec.target:
                raise ConversionError(
                    f"map {spec.name} produced {kind.label}, not {spec.target[0]}/{spec.target[1]}")
            context.catalog.validate(kind, output, file=f"output of {spec.name}")
        except ConversionError:
            raise
        except HubError as exc:
            raise ConversionError(
                f"the output of map {spec.name} for {destination.endpoint} is not a valid "
                f"{spec.target[0]}/{spec.target[1]}: {exc.reason}", exc.issues) from exc
        message_type = kind.type
        step = Step("CONVERTED", {"map": spec.name, "to": f"{kind.type}/{kind.dialect}", "ms": _ms(started)},
                    route=destination.route, endpoint=destination.endpoint)
    if message_type not in receiver.may_receive:
        raise ConversionError(
            f"route {destination.route} would send {message_type} to endpoint {receiver.name}, "
            f"which may receive only {', '.join(receiver.may_receive) or 'nothing'}")
    if destination.envelope in ("none", "dxp") and destination.map is None and document.transport is not None:
        body = etree.tostring(document.tree, xml_declaration=True, encoding="UTF-8")  # unwrapped from DXP
    if destination.envelope == "dxp":
        # The receiving node is addressed by its DXP node id; CopMsgId is the same whenever the same
        # business content goes to the same place, whatever its envelope (send time, message id) says.
        node_ids = [i for i in receiver.ids if i.startswith("DXP")] or list(receiver.ids[:1])
        fingerprint = hashlib.sha256(etree.tostring(document.body, method="c14n")).digest()
        body = dxp.wrap(body, message_type=message_type, sender=context.node_id, receivers=tuple(node_ids[:1]),
                        cop_msg_id=dxp.stable_id(fingerprint, destination.endpoint, destination.map or ""))
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
        document = read_envelope(data, context)
        outcome.envelope = document.envelope  # known even when the type is not
        kind, document = context.catalog.identify(document)
        outcome.kind, outcome.envelope = kind, document.envelope
        sender = context.endpoints[endpoint_name]
        authorize(sender, kind, document)
        context.catalog.validate(kind, document, file=source_name, declarants=sender.declares_for)
        outcome.steps.append(Step("VALIDATED", {"type": kind.type, "dialect": kind.dialect,
                                                "xsd": kind.xsd.name, "ms": _ms(started)}))
        routed = time.perf_counter()
        destinations = context.router.route(kind.type, endpoint_name, document)
        outcome.steps.append(Step("ROUTED", {
            "destinations": [{"endpoint": d.endpoint, "route": d.route, "map": d.map} for d in destinations],
            "ms": _ms(routed)}, route=",".join(sorted({d.route for d in destinations}))))
        # Convert for every destination before queueing any: a document goes to all or to none.
        for destination in destinations:
            body, message_type, step = convert(context, destination, document, data)
            if step is not None:
                outcome.steps.append(step)
            outcome.copies.append(Copy(destination, body, message_type))
    except HubError as exc:
        outcome.error = exc
        outcome.copies = []
    outcome.seconds = time.perf_counter() - started
    return outcome
