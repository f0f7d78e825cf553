"""Reading a document's envelope: who sent what, to whom, about which business.

The hub meets five shapes, told apart by the root element:

    Signature/Object/Package   Golden Customs II enterprise import (no namespace)
    Package                    receipts, with or without the xmldsig default namespace
    DxpMsg                     electronic-port transport; base64 ``Data`` holds the real document
    ImportMessage              single-window wrapper around a ``DecMessage``
    anything else              a bare document (DecMessage, DecImportResponse, DEC_RESULT, ...)

Children are looked up by local name, never by position or namespace prefix,
because real implementations order them differently. This module only reads:
it knows where the envelope fields live, not which types exist (that is the
catalog's job) and not whether the document is valid (that is ``validation``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field, replace

from lxml import etree

from .errors import EnvelopeError, Issue
from .parsing import Limits, parse

DXP_NS = "http://www.chinaport.gov.cn/dxp"
DEC_NS = "http://www.chinaport.gov.cn/dec"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"


@dataclass(frozen=True)
class Envelope:
    """The facts of one document. Strings are '' when the document leaves them out."""

    shape: str  # signature | package | dxp | import-message | bare
    root: str  # local name of the root element
    namespace: str  # namespace of the root element ('' for none)
    body: str  # local name of the business element (InvtMessage, SAS221, DecMessage, ...)
    message_type: str
    message_id: str = ""
    sender: str = ""
    receivers: tuple[str, ...] = ()
    business_id: str = ""
    send_time: str = ""
    keys: dict[str, str] = field(default_factory=dict)
    inner: Envelope | None = None  # the wrapped document's facts (DxpMsg)
    anonymous: bool = False  # a format that names no sender (DEC_RESULT): its endpoint vouches for it
    declaration: Envelope | None = None  # the DecMessage inside a single-window ImportMessage, as ``hub inspect`` names it
    pocket: tuple[str, int, int] | None = None  # (pocket_id, cur_pocket_no, total_pocket_qty) of a split document

    @property
    def part(self) -> str:
        """'2/3' for the second of three pockets; '' for a document that is not split."""
        return f"{self.pocket[1]}/{self.pocket[2]}" if self.pocket and self.pocket[2] > 1 else ""

    def as_dict(self) -> dict:
        facts = {
            "shape": self.shape,
            "root": self.root,
            "namespace": self.namespace,
            "body": self.body,
            "message_type": self.message_type,
            "message_id": self.message_id,
            "sender": self.sender,
            "receivers": list(self.receivers),
            "business_id": self.business_id,
            "send_time": self.send_time,
            "keys": dict(self.keys),
            "pocket": {"pocket_id": self.pocket[0], "cur_pocket_no": self.pocket[1],
                       "total_pocket_qty": self.pocket[2]} if self.pocket else None,
        }
        if self.inner is not None:
            facts["inner"] = self.inner.as_dict()
        if self.declaration is not None:
            facts["declaration"] = self.declaration.as_dict()
        return facts


@dataclass
class Document:
    """A parsed document with its envelope read.

    ``tree`` and ``body`` are the business document; for a DXP message they are
    the decoded inner document and ``envelope.inner`` holds its facts while
    ``envelope`` holds the transport's.
    """

    tree: etree._ElementTree
    body: etree._Element
    envelope: Envelope
    size: int = 0  # bytes of the business document, when known
    transport: etree._ElementTree | None = None  # the DxpMsg a business document came in, if any

    @property
    def business(self) -> Envelope:
        """The facts of the business document, unwrapped from any transport envelope."""
        return self.envelope.inner or self.envelope


def local_name(element: etree._Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def namespace_of(element: etree._Element) -> str:
    tag = element.tag
    return tag[1:].partition("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""


def child(element: etree._Element | None, name: str) -> etree._Element | None:
    """The first child element with this local name, in any namespace and position."""
    return None if element is None else element.find("{*}" + name)


def children(element: etree._Element | None, name: str) -> list[etree._Element]:
    return [] if element is None else element.findall("{*}" + name)


_paths: dict[str, str] = {}


def value_of(element: etree._Element) -> str:
    """An element's value as an XSD sees it: its text around any comment or processing instruction
    (``.text`` alone stops at the first one: <No><!---->2101999999</No> would read as empty)."""
    text = element.text
    if len(element) == 0:
        return (text or "").strip()
    return "".join(element.itertext()).strip()


def text_at(element: etree._Element | None, path: str) -> str:
    """Value of the element at a slash-separated path of local names ('' when absent)."""
    if element is None:
        return ""
    query = _paths.get(path)
    if query is None:
        query = _paths[path] = "/".join("{*}" + step for step in path.split("/"))
    found = element.find(query)
    return value_of(found) if found is not None else ""


def first_business_child(business_data: etree._Element) -> etree._Element | None:
    """The business element inside BussinessData: the first element that is not a flag."""
    for candidate in business_data:
        if isinstance(candidate.tag, str) and local_name(candidate) != "DelcareFlag":
            return candidate
    return None


# Where the facts of bare documents live, relative to their root (public formats). H2010's and the
# customs client's answers carry no message id of their own: the number they quote (ClientSeqNo,
# CUS_CIQ_NO, EtpsPreentNo) is the original's, and one original is answered many times (channel
# 7, then L, then P; a failed import, then another failed one, then a successful one). So they
# have none here, and only the same bytes again make one a duplicate. A format without "sender"
# names none: the endpoint it came on vouches for it (a DecMessage names its declarant, and one
# that leaves it empty is refused).
_BARE_FACTS: dict[str, dict[str, str]] = {
    "DecMessage": {"business_id": "DecHead/SeqNo", "sender": "DecSign/CopCode", "message_id": "DecSign/ClientSeqNo"},
    "DecImportResponse": {"business_id": "SeqNo"},
    "DecModSaveResponse": {"business_id": "DecModSeqNo"},
    "DEC_RESULT": {"business_id": "ENTRY_ID", "send_time": "NOTICE_DATE"},
    "DEC_DATA": {"business_id": "DEC_RESULT/ENTRY_ID"},
    "CommonResponeMessage": {"business_id": "SeqNo"},
    # documents the hub defines (schemas/review/README.md): a Header with the envelope facts
    **{root: {"message_id": "Header/MessageId", "sender": "Header/SenderId", "send_time": "Header/SentAt",
              "business_id": "ApplicationId"}
       for root in ("NetworkAccessApplication", "AgencyReviewRequest", "AgencyVerdict", "ReviewDecision")},
    "ClosingNotice": {"message_id": "Header/MessageId", "sender": "Header/SenderId", "send_time": "Header/SentAt",
                      "business_id": "BondInvtNo"},
}
# receivers of hub-defined documents
_BARE_RECEIVERS = {root: "Header/ReceiverId" for root in (
    "NetworkAccessApplication", "AgencyReviewRequest", "AgencyVerdict", "ReviewDecision", "ClosingNotice")}


def read(tree: etree._ElementTree, limits: Limits = Limits()) -> Document:
    """Read the envelope of a parsed document, or raise ``EnvelopeError`` naming what is missing."""
    root = tree.getroot()
    name = local_name(root)
    if name == "Signature":
        package = child(child(root, "Object"), "Package")
        if package is None:
            raise EnvelopeError(
                "the Signature envelope has no Object/Package",
                [Issue("missing element Object/Package", line=root.sourceline, path=f"/{name}")],
            )
        return _read_package(tree, root, package, "signature")
    if name == "Package":
        return _read_package(tree, root, root, "package")
    if name == "DxpMsg":
        return _read_dxp(tree, root, limits)
    if name == "ImportMessage":
        return _read_import_message(tree, root)
    return _read_bare(tree, root)


def _read_package(tree, root, package, shape: str) -> Document:
    info = child(package, "EnvelopInfo")
    business_data = child(child(package, "DataInfo"), "BussinessData")
    path = "/Signature/Object/Package" if shape == "signature" else "/Package"
    issues = []
    if info is None:
        issues.append(Issue("missing element EnvelopInfo", line=package.sourceline, path=path))
    if business_data is None:
        issues.append(Issue("missing element DataInfo/BussinessData", line=package.sourceline, path=path))
    body = first_business_child(business_data) if business_data is not None else None
    if business_data is not None and body is None:
        issues.append(Issue("BussinessData holds no business document", line=business_data.sourceline,
                            path=f"{path}/DataInfo/BussinessData"))
    facts = {}
    if info is not None:
        for field_name in ("message_type", "message_id", "sender_id", "receiver_id"):
            facts[field_name] = text_at(info, field_name)
            if not facts[field_name]:
                issues.append(Issue(f"envelope field {field_name} is missing or empty",
                                    line=info.sourceline, path=f"{path}/EnvelopInfo/{field_name}"))
    if issues:
        raise EnvelopeError("the envelope cannot be read: " + "; ".join(i.message for i in issues), issues)
    pocket_info = child(child(package, "DataInfo"), "PocketInfo")
    pocket = None
    if pocket_info is not None:
        numbers = (text_at(pocket_info, "cur_pocket_no"), text_at(pocket_info, "total_pocket_qty"))
        if all(n.isascii() and n.isdigit() for n in numbers):
            pocket = (text_at(pocket_info, "pocket_id"), int(numbers[0]), int(numbers[1]))
    envelope = Envelope(
        shape=shape,
        root=local_name(root),
        namespace=namespace_of(root),
        body=local_name(body),
        pocket=pocket,
        message_type=facts["message_type"],
        message_id=facts["message_id"],
        sender=facts["sender_id"],
        receivers=tuple(r for r in facts["receiver_id"].replace(";", ",").split(",") if r.strip()),
        business_id=text_at(info, "business_id"),
        send_time=text_at(info, "send_time"),
    )
    return Document(tree=tree, body=body, envelope=envelope)


def _read_dxp(tree, root, limits: Limits) -> Document:
    trans = child(root, "TransInfo")
    data = child(root, "Data")
    issues = []
    if trans is None:
        issues.append(Issue("missing element TransInfo", line=root.sourceline, path="/DxpMsg"))
    if data is None or not (data.text or "").strip():
        issues.append(Issue("missing or empty element Data", line=root.sourceline, path="/DxpMsg"))
    if issues:
        raise EnvelopeError("the DXP envelope cannot be read: " + "; ".join(i.message for i in issues), issues)
    try:
        inner_bytes = base64.b64decode("".join(data.text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError(
            f"DxpMsg/Data is not valid base64: {exc}",
            [Issue(f"Data is not valid base64: {exc}", line=data.sourceline, path="/DxpMsg/Data")],
        ) from exc
    inner = read(parse(inner_bytes, limits), limits)
    inner.size = len(inner_bytes)
    if inner.envelope.shape == "dxp":
        raise EnvelopeError("a DxpMsg wraps another DxpMsg, which the hub does not unwrap")
    keys = {key.get("name", ""): value_of(key) for key in children(child(child(root, "AddInfo"), "BizKey"), "Key")}
    envelope = Envelope(
        shape="dxp",
        root="DxpMsg",
        namespace=namespace_of(root),
        body=inner.envelope.body,
        message_type=text_at(trans, "MsgType"),
        message_id=text_at(trans, "CopMsgId"),
        sender=text_at(trans, "SenderId"),
        receivers=tuple(value_of(r) for r in children(child(trans, "ReceiverIds"), "ReceiverId")),
        business_id=inner.envelope.business_id,
        send_time=text_at(trans, "CreatTime"),
        keys={k: v for k, v in keys.items() if k},
        inner=inner.envelope,
    )
    return Document(tree=inner.tree, body=inner.body, envelope=envelope, size=inner.size, transport=tree)


def _read_import_message(tree, root) -> Document:
    head = child(root, "SWImpHead")
    body = child(child(root, "SWImpData"), "DecMessage")
    if head is None or body is None:
        raise EnvelopeError(
            "the ImportMessage wrapper needs SWImpHead and SWImpData/DecMessage",
            [Issue("missing SWImpHead or SWImpData/DecMessage", line=root.sourceline, path="/ImportMessage")],
        )
    dec = _BARE_FACTS["DecMessage"]
    declaration = Envelope(  # the declaration itself, in the dec namespace or (as some clients write it) none
        shape="bare", root="DecMessage", namespace=namespace_of(body), body="DecMessage", message_type="DecMessage",
        message_id=text_at(body, dec["message_id"]), sender=text_at(body, dec["sender"]),
        business_id=text_at(body, dec["business_id"]))
    envelope = Envelope(
        shape="import-message",
        root="ImportMessage",
        namespace=namespace_of(root),
        body="DecMessage",
        message_type=text_at(head, "MsgType") or "SWDEC001",
        message_id=text_at(head, "CopMsgId"),
        sender=declaration.sender,
        business_id=declaration.business_id,
        declaration=declaration,
    )
    return Document(tree=tree, body=body, envelope=envelope)


def _fact(element: etree._Element, paths: dict[str, str], name: str) -> str:
    return text_at(element, paths[name]) if name in paths else ""


def _read_bare(tree, root) -> Document:
    name = local_name(root)
    paths = _BARE_FACTS.get(name, {})
    envelope = Envelope(
        shape="bare",
        root=name,
        namespace=namespace_of(root),
        body=name,
        message_type=name,
        message_id=_fact(root, paths, "message_id"),
        sender=_fact(root, paths, "sender"),
        business_id=_fact(root, paths, "business_id"),
        send_time=_fact(root, paths, "send_time"),
        anonymous="sender" not in paths and name not in _BARE_RECEIVERS,
        receivers=(text_at(root, _BARE_RECEIVERS[name]),) if name in _BARE_RECEIVERS else (),
    )
    return Document(tree=tree, body=root, envelope=envelope)


def with_keys(document: Document, keys: dict[str, str], business_id: str, message_type: str) -> Document:
    """The same document with its catalog-declared correlation keys (and, for a bare document
    whose root says nothing of it, its catalog type) filled in."""
    business = replace(document.business, keys={**document.business.keys, **keys},
                       business_id=document.business.business_id or business_id,
                       message_type=message_type if document.business.shape in ("bare", "import-message") else
                       document.business.message_type)
    if document.envelope.inner is not None:
        envelope = replace(document.envelope, inner=business,
                           business_id=document.envelope.business_id or business.business_id)
    else:
        envelope = business
    return Document(tree=document.tree, body=document.body, envelope=envelope, size=document.size,
                    transport=document.transport)
