"""What the hub already knows, as the pure steps may ask it: earlier documents that share a
correlation key with this one.

A receipt names its original by the keys both carry (an inventory list's EtpsInnerInvtNo is
the receipt's etpsInnerInvtNo; a clearance result's CUS_CIQ_NO is the entrySeqNo of the
customs receipt that also names the inventory list's BondInvtNo). Routing asks for the
original a receipt answers (``answers`` in a route); a map asks for a fact the document
itself does not carry (``params`` in a route). The engine answers from the journal
(``JournalFacts``); the pure steps see only this interface, so they stay free of I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Earlier:
    """An earlier accepted document sharing a correlation key with the one at hand."""

    document_id: str
    endpoint: str  # the endpoint it came from
    message_type: str
    received_at: str
    keys: dict[str, str] = field(default_factory=dict, compare=False)
    awaiting: frozenset[str] = frozenset()  # receipt types it still waits for


class Facts(Protocol):
    def correlated(self, keys: dict[str, str]) -> list[Earlier]:
        """Accepted documents sharing any (name, value) of ``keys``, earliest first."""
        ...


def correlation_keys(business) -> dict[str, str]:
    """The keys a document is correlated by: its catalog keys and its business id."""
    keys = dict(business.keys)
    if business.business_id:
        keys.setdefault("business_id", business.business_id)
    return {name: value for name, value in keys.items() if value}
