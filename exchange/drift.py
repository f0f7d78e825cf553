"""Schema drift: what authorities send that the hub's schemas do not describe, per type and party.

A tolerant catalog entry (``policy``) accepts a document carrying elements, values or
codes its schema does not know, and reports each as a ``Drift``. Operators learn from
this module that customs changed a format before anything breaks:

    schema_drift   one row per (type, sending endpoint, kind, field: the SHA-256 of its path without
                   positions, so a path of any length fits PostgreSQL's index):
                   the element, when it was first and last seen, how many documents
                   carried it, the latest of them and its message

Each document that carried drift also gets one ``SCHEMA_DRIFT`` event in the hash
chain, naming every field with its first sighting and count (``record``). ``hub
status`` and the console's Drift page read ``summary``.
"""

from __future__ import annotations

import hashlib

from .policy import Drift

# created with the journal's other tables (journal._TABLES), in both backends
TABLE = """
CREATE TABLE IF NOT EXISTS schema_drift (
    message_type  TEXT NOT NULL,
    endpoint      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    field         TEXT NOT NULL,
    path          TEXT NOT NULL,
    element       TEXT NOT NULL,
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    documents     BIGINT NOT NULL,
    last_document TEXT NOT NULL,
    message       TEXT NOT NULL,
    PRIMARY KEY (message_type, endpoint, kind, field)
);
"""

EVENT = "SCHEMA_DRIFT"
EVENT_FIELDS = 50  # fields named in one event; the table keeps them all


def grouped(drift: list[Drift]) -> list[dict]:
    """One entry per (kind, field): a field repeated on 500 lines is one finding, seen 500 times."""
    fields: dict[tuple[str, str], dict] = {}
    for item in drift:
        entry = fields.get((item.kind, item.where))
        if entry is None:
            fields[(item.kind, item.where)] = {"kind": item.kind, "element": item.element, "path": item.where,
                                               "line": item.line, "message": item.message, "times": 1}
        else:
            entry["times"] += 1
    return list(fields.values())


class DriftLog:
    """The ``schema_drift`` tally over one journal (the engine's, inside its transaction)."""

    def __init__(self, journal):
        self._journal = journal

    def record(self, document_id: str, message_type: str, endpoint: str, drift: list[Drift]) -> list[dict]:
        """Count this document's drift and chain a ``SCHEMA_DRIFT`` event for it; returns its fields,
        each with when it was first seen and in how many documents (this one included)."""
        from .journal import now  # the journal's clock, so first_seen sorts with the events

        fields = grouped(drift)
        at = now()
        for field in fields:
            key = hashlib.sha256(field["path"].encode("utf-8")).hexdigest()
            self._journal.execute(
                "INSERT INTO schema_drift (message_type, endpoint, kind, field, path, element, first_seen, last_seen,"
                " documents, last_document, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)"
                " ON CONFLICT (message_type, endpoint, kind, field) DO UPDATE SET last_seen = excluded.last_seen,"
                " documents = schema_drift.documents + 1, last_document = excluded.last_document,"
                " message = excluded.message",
                (message_type, endpoint, field["kind"], key, field["path"], field["element"], at, at, document_id,
                 field["message"][:2000]))
            row = self._journal.rows(
                "SELECT first_seen, documents FROM schema_drift WHERE message_type = ? AND endpoint = ? AND kind = ?"
                " AND field = ?", (message_type, endpoint, field["kind"], key))[0]
            field["first_seen"], field["count"] = row["first_seen"], int(row["documents"])
        self._journal.append(document_id, EVENT, endpoint=endpoint,
                             reason=f"{len(fields)} field{'s' if len(fields) != 1 else ''} {message_type} "
                                    f"from {endpoint} carries that its schema does not describe",
                             detail={"type": message_type, "fields": [
                                 {key: field[key] for key in ("kind", "element", "path", "line", "first_seen", "count")}
                                 for field in fields[:EVENT_FIELDS]], "more": max(0, len(fields) - EVENT_FIELDS)})
        return fields

    def summary(self, limit: int = 500) -> list[dict]:
        """The fields seen, per type and party, the latest first (at most ``limit``)."""
        rows = self._journal.rows(
            "SELECT message_type, endpoint, kind, path, element, first_seen, last_seen, documents, last_document,"
            " message FROM schema_drift ORDER BY last_seen DESC, message_type, endpoint, path LIMIT ?", (limit,))
        for row in rows:
            row["documents"] = int(row["documents"])  # BIGINT: a Decimal-free int from PostgreSQL too
        return rows
