"""Scatter-gather: answers from several parties collected into one decision (the joint review).

A ``[[gather]]`` table in ``routes/*.toml`` says which document opens a gathering, which
answers it collects from whom, for how long, and how the decision is made::

    [[gather]]
    name     = "joint-review"
    start    = "REVIEW101"                 # an enterprise's application opens it ...
    answer   = "REVIEW121"                 # ... each agency's verdict is collected ...
    key      = "application_id"            # ... tied to it by this correlation key ...
    member   = "agency"                    # ... and this key names who answered,
    members  = { CUSTOMS = "agency-customs", TAX = "agency-tax", ... }   # and which endpoint may
    within   = "30m"                       # when all have answered, or this time has passed,
    decision = "REVIEW131"                 # the starter gets one decision of this type,
    xsl      = "../schemas/maps/review-gathering-to-decision.xsl"   # made by this stylesheet

The stylesheet reads a ``Gathering`` document the hub writes (namespace
``urn:customs-hub:gather:1``): the starting document, each member's latest answer and
the members that stayed silent. The rules of the decision (all approved, any rejected,
...) live in the stylesheet, not in code. A route still sends the starting document to
the members (``[[route]]``); the gathering only collects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .errors import ConfigError
from .spec import Table

GATHER_NS = "urn:customs-hub:gather:1"


@dataclass(frozen=True)
class Gather:
    name: str
    start: str
    answer: str
    key: str
    member: str
    members: tuple[tuple[str, str], ...]  # (member, the endpoint its answers must come from)
    within: float
    decision: str
    xsl: Path
    transform: etree.XSLT

    def endpoint_of(self, member: str) -> str | None:
        return dict(self.members).get(member)


def gather_from(table: Table, folder: Path) -> Gather:
    members_table = table.table("members", required=True)
    members = tuple((member, members_table.str(member)) for member in members_table.data)
    members_table.done()
    if not members:
        raise table.error("members", "a gathering needs at least one member")
    xsl = (folder / table.str("xsl")).resolve()
    try:
        transform = etree.XSLT(etree.parse(str(xsl)), access_control=etree.XSLTAccessControl.DENY_ALL)
    except (etree.XSLTParseError, etree.XMLSyntaxError, OSError) as exc:
        raise ConfigError(table.file, table.key("xsl"), f"the stylesheet does not compile: {exc}") from exc
    return Gather(name=table.str("name"), start=table.str("start"), answer=table.str("answer"),
                  key=table.str("key"), member=table.str("member"), members=members,
                  within=table.duration("within"), decision=table.str("decision"), xsl=xsl, transform=transform)


def gathering_document(gather: Gather, key: str, start: etree._Element, answers: dict[str, etree._Element],
                       *, message_id: str, sender: str, receiver: str, decided_at: str, why: str) -> etree._ElementTree:
    """What the decision stylesheet reads: the start, the latest answer of each member, the members."""
    root = etree.Element(f"{{{GATHER_NS}}}Gathering", nsmap={None: GATHER_NS}, name=gather.name, key=key,
                         messageId=message_id, senderId=sender, receiverId=receiver, decidedAt=decided_at, why=why)
    for member, _ in gather.members:
        etree.SubElement(root, f"{{{GATHER_NS}}}Member", name=member, answered="true" if member in answers else "false")
    etree.SubElement(root, f"{{{GATHER_NS}}}Start").append(start)
    for member, answer in answers.items():
        etree.SubElement(root, f"{{{GATHER_NS}}}Answer", member=member).append(answer)
    return root.getroottree()
