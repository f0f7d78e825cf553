"""Wrapping a document for the electronic port: a DxpMsg with the document base64 in ``Data``.

Unwrapping is reading: ``envelope`` decodes a DxpMsg's ``Data`` and reads the document inside.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone

from lxml import etree

from .envelope import DXP_NS

_E = f"{{{DXP_NS}}}"


def stable_id(fingerprint: bytes, endpoint: str, map_name: str) -> str:
    """A CopMsgId that is the same when the same business content is sent to the same place
    again, so the receiving node can recognise a resend (1-255 characters)."""
    return hashlib.sha256(fingerprint + b"\0" + endpoint.encode() + b"\0" + map_name.encode()).hexdigest()[:32]


def wrap(body: bytes, *, message_type: str, sender: str, receivers: tuple[str, ...], cop_msg_id: str) -> bytes:
    root = etree.Element(f"{_E}DxpMsg", nsmap={None: DXP_NS}, ver="1.0")
    info = etree.SubElement(root, f"{_E}TransInfo")
    etree.SubElement(info, f"{_E}CopMsgId").text = cop_msg_id
    etree.SubElement(info, f"{_E}SenderId").text = sender
    ids = etree.SubElement(info, f"{_E}ReceiverIds")
    for receiver in receivers:
        etree.SubElement(ids, f"{_E}ReceiverId").text = receiver
    etree.SubElement(info, f"{_E}CreatTime").text = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    etree.SubElement(info, f"{_E}MsgType").text = message_type
    etree.SubElement(root, f"{_E}Data").text = base64.b64encode(body).decode("ascii")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
