"""Receipts the hub writes itself: the answer to a document it refused.

The answer has the shape the customs client already understands, its import
acknowledgement ``CommonResponeMessage`` (sic) with ``DealFlag`` -1, so an
enterprise's client shows it like any failed import. ``CheckInfo`` carries one
line per problem (file, line, element path, reason): every problem, not only
the first. The file is named as the client names its own acknowledgements,
``Failed_{TYPE}_{document id}.xml``.
"""

from __future__ import annotations

import re

from lxml import etree

from .envelope import Envelope
from .errors import HubError

#: the type of the hub's own answers; every endpoint may receive the answer to its own document
ANSWER_TYPE = "CommonResponeMessage"
FAILED_FLAG = "-1"

# Characters XML 1.0 cannot carry; error texts quote documents and file names, which may hold them.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("?", text)


def error_receipt(document_id: str, source_name: str, error: HubError, envelope: Envelope | None) -> bytes:
    business = (envelope.inner or envelope) if envelope is not None else None
    root = etree.Element(ANSWER_TYPE)
    etree.SubElement(root, "SeqNo").text = _xml_text(business.keys.get("seq_no", "") if business else "")
    etree.SubElement(root, "EtpsPreentNo").text = _xml_text(
        (business.keys.get("etps_inner_no", "") or business.message_id) if business else ""
    )
    lines = [f"hub document {document_id} ({source_name}) refused: {error.code}: {error.reason}"]
    lines += [f"- {issue}" for issue in error.issues]
    etree.SubElement(root, "CheckInfo").text = _xml_text("\n".join(lines))
    etree.SubElement(root, "DealFlag").text = FAILED_FLAG
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def error_receipt_name(document_id: str, envelope: Envelope | None) -> str:
    message_type = (envelope.inner or envelope).message_type if envelope is not None else "UNKNOWN"
    safe = "".join(c for c in message_type if c.isalnum() or c in "-_") or "UNKNOWN"
    return f"Failed_{safe}_{document_id}.xml"
