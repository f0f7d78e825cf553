"""The console's read model: what each page shows, as queries over the journal.

Every query is built to stay fast with millions of documents journaled: the overview
and /metrics read the ``counts`` table (kept by triggers), lists are keyset-paged on
an index, a business number is looked up in ``keys`` by value, and time windows use
the ``received_at`` / ``created_at`` indexes. Nothing here writes.
"""

from __future__ import annotations

import hashlib
import json
import queue
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from exchange import journal as j
from exchange.drift import DriftLog
from exchange.journal import Journal

PAGE = 50
SPIKE_WINDOW_MINUTES = 15
SPIKE_WARNING, SPIKE_CRITICAL = 10, 50  # refused documents per endpoint in the window
STALE_SECONDS = 60  # a hub that has not reported its endpoints for this long is not running


def _ago(**delta) -> str:
    return (datetime.now(timezone.utc) - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%S")


class ReadModel:
    """Read-only journal connections, a few at a time, for the console's request threads."""

    def __init__(self, open_journal, size: int = 4):
        self._open = open_journal
        self._pool: queue.LifoQueue = queue.LifoQueue()
        for _ in range(size):
            self._pool.put(None)

    @contextmanager
    def journal(self):
        journal = self._pool.get()
        try:
            if journal is None:
                journal = self._open()
            yield journal
        except Exception:
            if journal is not None:
                journal.close()
            journal = None  # a broken connection is not handed out again
            raise
        finally:
            self._pool.put(journal)

    def close(self) -> None:
        while not self._pool.empty():
            journal = self._pool.get_nowait()
            if journal is not None:
                journal.close()

    # -- overview ------------------------------------------------------------

    def overview(self) -> dict:
        """Counters per party and type, throughput over the last hour, endpoint health."""
        with self.journal() as journal:
            counts = journal.rows("SELECT scope, a, b, state, n FROM counts WHERE n != 0")
            waiting = journal.rows(
                "SELECT e.endpoint AS endpoint, e.receipt_type AS type, e.state AS state, COUNT(*) AS n"
                " FROM expectations e WHERE e.state IN (?, ?) GROUP BY e.endpoint, e.receipt_type, e.state",
                (j.WAITING, j.OVERDUE))
            minutes = journal.rows(
                "SELECT substr(received_at, 1, 16) AS minute, COUNT(*) AS n FROM documents WHERE received_at >= ?"
                " GROUP BY substr(received_at, 1, 16) ORDER BY 1", (_ago(hours=1),))
            endpoints = self._endpoints(journal)
        rows: dict[tuple[str, str], dict] = {}

        def row(party: str, type_: str) -> dict:
            return rows.setdefault((party, type_), {"party": party, "type": type_, "received": 0, "delivered": 0,
                                                    "rejected": 0, "dead": 0, "awaiting": 0, "overdue": 0})

        for count in counts:
            if count["scope"] == "document":
                entry = row(count["a"], count["b"] or "?")
                entry["received"] += count["n"]
                if count["state"] in (j.DELIVERED, j.DUPLICATE):
                    entry["delivered"] += count["n"] if count["state"] == j.DELIVERED else 0
                if count["state"] in (j.REJECTED, j.FAILED):
                    entry["rejected"] += count["n"]
        dead = {(c["b"]): c["n"] for c in counts if c["scope"] == "delivery" and c["state"] == j.DEAD}
        for endpoint, n in dead.items():
            row(endpoint, "(deliveries)")["dead"] += n
        for count in waiting:
            entry = row(count["endpoint"], f"{count['type']} (receipt)")
            entry["awaiting" if count["state"] == j.WAITING else "overdue"] += count["n"]
        totals = {key: sum(r[key] for r in rows.values()) for key in
                  ("received", "delivered", "rejected", "dead", "awaiting", "overdue")}
        per_minute = {m["minute"]: m["n"] for m in minutes}
        start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=59)
        series = [per_minute.get((start + timedelta(minutes=k)).strftime("%Y-%m-%dT%H:%M"), 0) for k in range(60)]
        return {"rows": sorted(rows.values(), key=lambda r: (r["party"], r["type"])), "totals": totals,
                "throughput": series, "last_hour": sum(series), "endpoints": endpoints}

    def _endpoints(self, journal: Journal) -> list[dict]:
        pending = {r["b"]: r["n"] for r in journal.rows(
            "SELECT b, CAST(SUM(n) AS BIGINT) AS n FROM counts WHERE scope='delivery' AND state=? GROUP BY b", (j.PENDING,))}
        status = journal.rows("SELECT * FROM endpoint_status ORDER BY endpoint, node")
        stale = _ago(seconds=STALE_SECONDS)
        for row in status:
            row["backlog"] = pending.get(row["endpoint"], 0)
            row["stale"] = row["updated_at"][:19] < stale
            row["up"] = bool(row["connected"]) and not row["stale"]
        return status

    def live(self) -> dict:
        """The figures the overview updates without a reload: every counter cell and total."""
        overview = self.overview()
        figures = {f"total|{key}": value for key, value in overview["totals"].items()}
        figures["total|last_hour"] = overview["last_hour"]
        for row in overview["rows"]:
            for key in ("received", "delivered", "rejected", "dead", "awaiting", "overdue"):
                figures[f"{row['party']}|{row['type']}|{key}"] = row[key]
        return figures

    # -- endpoints -----------------------------------------------------------

    def endpoints(self, configured: dict) -> list[dict]:
        """Each configured endpoint: its health as the hub processes report it, its traffic, its last self-test."""
        with self.journal() as journal:
            health = self._endpoints(journal)
            counts = journal.rows("SELECT scope, a, b, state, n FROM counts WHERE n != 0")
            tests = {}
            for name in configured:
                rows = journal.rows("SELECT at, reason, detail FROM events WHERE document_id = ? AND kind = 'SELF_TEST'"
                                    " ORDER BY seq DESC LIMIT 1", (f"endpoint:{name}",))
                if rows:
                    detail = json.loads(rows[0]["detail"])
                    tests[name] = {"at": rows[0]["at"], "result": rows[0]["reason"], "by": detail.get("by", ""),
                                   "steps": detail.get("steps", [])}
        result = []
        for name, endpoint in sorted(configured.items()):
            received = sum(c["n"] for c in counts if c["scope"] == "document" and c["a"] == name)
            refused = sum(c["n"] for c in counts if c["scope"] == "document" and c["a"] == name
                          and c["state"] in (j.REJECTED, j.FAILED))
            sent = sum(c["n"] for c in counts if c["scope"] == "delivery" and c["b"] == name and c["state"] == j.SENT)
            waiting = sum(c["n"] for c in counts if c["scope"] == "delivery" and c["b"] == name
                          and c["state"] == j.PENDING)
            result.append({"name": name, "party": endpoint.party, "transport": endpoint.transport_kind,
                           "contact": endpoint.contact, "may_send": endpoint.may_send,
                           "may_receive": endpoint.may_receive, "health": [h for h in health if h["endpoint"] == name],
                           "received": received, "refused": refused, "delivered": sent, "backlog": waiting,
                           "self_test": tests.get(name)})
        return result

    # -- flows ---------------------------------------------------------------

    def flows(self) -> dict:
        """Parties as nodes, (source → destination) deliveries as edges with totals, errors and rate."""
        with self.journal() as journal:
            counts = journal.rows("SELECT a, b, state, n FROM counts WHERE scope='delivery' AND n != 0")
            refused = journal.rows("SELECT a, CAST(SUM(n) AS BIGINT) AS n FROM counts WHERE scope='document' AND state IN (?, ?)"
                                   " GROUP BY a", (j.REJECTED, j.FAILED))
            recent = journal.rows("SELECT source, endpoint, COUNT(*) AS n FROM deliveries WHERE created_at >= ?"
                                  " GROUP BY source, endpoint", (_ago(minutes=10),))
        edges: dict[tuple[str, str], dict] = {}
        for count in counts:
            edge = edges.setdefault((count["a"] or "?", count["b"]), {"source": count["a"] or "?",
                                                                      "destination": count["b"], "total": 0,
                                                                      "errors": 0, "per_minute": 0.0})
            edge["total"] += count["n"]
            if count["state"] == j.DEAD:
                edge["errors"] += count["n"]
        for row in recent:
            if (row["source"] or "?", row["endpoint"]) in edges:
                edges[(row["source"] or "?", row["endpoint"])]["per_minute"] = round(row["n"] / 10, 1)
        for row in refused:  # refused documents: an edge back from the hub to their sender
            edge = edges.setdefault((row["a"], "hub"), {"source": row["a"], "destination": "hub", "total": 0,
                                                        "errors": 0, "per_minute": 0.0})
            edge["errors"] += row["n"]
        nodes = sorted({e["source"] for e in edges.values()} | {e["destination"] for e in edges.values()})
        return {"nodes": nodes, "edges": sorted(edges.values(), key=lambda e: (e["source"], e["destination"]))}

    # -- search --------------------------------------------------------------

    def search(self, *, q: str = "", type_: str = "", state: str = "", sender: str = "", source: str = "",
               destination: str = "", since: str = "", until: str = "", before: str = "") -> dict:
        """Documents matching every given filter, newest first, PAGE at a time (``before``: the cursor,
        ``received_at|document_id`` of the last row shown)."""
        where, params = [], []
        if q:
            where.append("(d.document_id IN (SELECT document_id FROM keys WHERE value = ?) OR d.document_id = ?"
                         " OR d.message_id = ? OR d.business_id = ?)")
            params += [q, q, q, q]
        for column, value in (("d.message_type", type_), ("d.state", state)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        if sender:
            where.append("(d.endpoint = ? OR d.sender = ?)")
            params += [sender, sender]
        if source:
            where.append("d.endpoint = ?")
            params.append(source)
        if destination:
            where.append("d.document_id IN (SELECT document_id FROM deliveries WHERE endpoint = ?)")
            params.append(destination)
        if since:
            where.append("d.received_at >= ?")
            params.append(since)
        if until:
            where.append("d.received_at < ?")
            params.append(until)
        if before and "|" in before:
            at, document_id = before.split("|", 1)
            where.append("(d.received_at < ? OR (d.received_at = ? AND d.document_id < ?))")
            params += [at, at, document_id]
        sql = ("SELECT d.document_id, d.received_at, d.endpoint, d.source_name, d.message_type, d.message_id,"
               " d.sender, d.business_id, d.state, d.reason FROM documents d"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY d.received_at DESC, d.document_id DESC LIMIT ?")
        with self.journal() as journal:
            rows = journal.rows(sql, (*params, PAGE + 1))
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        cursor = f"{rows[-1]['received_at']}|{rows[-1]['document_id']}" if more else ""
        return {"documents": rows, "next": cursor}

    # -- one document --------------------------------------------------------

    def document(self, document_id: str) -> dict | None:
        with self.journal() as journal:
            document = journal.document(document_id)
            if document is None:
                return None
            related = journal.related([document_id], rounds=2, limit=60)
            stories = []
            for other in related:
                row = journal.document(other)
                if row is not None:
                    stories.append({"document": row, "events": journal.events(other)})
            deliveries = journal.deliveries(document_id)
            expectations = journal.expectations(document_id=document_id)
            gathers = journal.gathers_started_by(document_id)
        timeline = sorted(({**event, "document_id": story["document"]["document_id"],
                            "message_type": story["document"]["message_type"],
                            "mine": story["document"]["document_id"] == document_id}
                           for story in stories for event in story["events"]), key=lambda e: e["seq"])
        issues = [issue for event in timeline if event["mine"] for issue in event["detail"].get("issues", [])]
        bodies = [{"label": f"as received from {document['endpoint']}", "sha256": document["sha256"],
                   "size": document["size"]}] if document["sha256"] else []
        for delivery in deliveries:
            label = f"{'converted by ' + delivery['map'] if delivery['map'] else 'copy'} for {delivery['endpoint']}"
            if delivery["kind"] != j.ROUTED_COPY:
                label = f"{delivery['kind']} for {delivery['endpoint']}"
            if all(b["sha256"] != delivery["sha256"] for b in bodies):
                bodies.append({"label": label, "sha256": delivery["sha256"], "size": None})
        receipts = [e for e in timeline if e["kind"] in ("RECEIPT", "RECEIPT_OVERDUE", "CORRELATED")]
        return {"document": document, "timeline": timeline, "issues": issues, "bodies": bodies,
                "deliveries": deliveries, "expectations": expectations, "receipts": receipts, "gathers": gathers,
                "related": [s["document"] for s in stories if s["document"]["document_id"] != document_id],
                "can_resubmit": document["state"] in (j.REJECTED, j.FAILED)
                or any(d["state"] == j.DEAD for d in deliveries)
                or any(g["state"] == j.DECISION_FAILED for g in gathers)}

    def body(self, document_id: str, digest: str) -> bytes | None:
        """A body of this document (as received, or a copy of it), never any other's."""
        with self.journal() as journal:
            document = journal.document(document_id)
            if document is None:
                return None
            allowed = {document["sha256"]} | {d["sha256"] for d in journal.deliveries(document_id)}
            if digest not in allowed:
                return None
            return journal.body(digest)

    # -- failures ------------------------------------------------------------

    def failures(self) -> dict:
        """Refused documents and dead deliveries not resubmitted since, grouped by cause and endpoint."""
        with self.journal() as journal:
            refused = journal.rows(
                "SELECT d.document_id, d.received_at, d.endpoint, d.source_name, d.message_type, d.business_id,"
                " d.state, d.code, d.reason FROM documents d WHERE d.state IN (?, ?) AND NOT EXISTS"
                " (SELECT 1 FROM documents later WHERE later.resubmission_of = d.document_id AND later.resubmission_of != '')"
                " ORDER BY d.received_at DESC LIMIT 2000", (j.REJECTED, j.FAILED))
            dead = journal.rows(
                "SELECT d.delivery_id, d.document_id, d.endpoint, d.updated_at, d.attempts, d.last_error,"
                " doc.message_type, doc.business_id FROM deliveries d JOIN documents doc"
                " ON doc.document_id = d.document_id WHERE d.state = ? ORDER BY d.updated_at DESC LIMIT 2000",
                (j.DEAD,))
            decisions = journal.rows("SELECT * FROM gathers WHERE state = ?", (j.DECISION_FAILED,))
        groups: dict[tuple[str, str, str], dict] = {}
        for row in refused:
            key = (row["state"], row["code"] or "error", row["endpoint"])
            group = groups.setdefault(key, {"id": "|".join(key), "state": key[0], "cause": key[1],
                                            "endpoint": key[2], "items": []})
            group["items"].append({"id": row["document_id"], "at": row["received_at"], "what":
                                   f"{row['message_type'] or '?'} {row['business_id'] or ''} ({row['source_name']})",
                                   "reason": row["reason"]})
        for row in dead:
            key = ("DEAD", "delivery", row["endpoint"])
            group = groups.setdefault(key, {"id": "|".join(key), "state": "DEAD", "cause": "delivery",
                                            "endpoint": row["endpoint"], "items": []})
            group["items"].append({"id": row["delivery_id"], "document_id": row["document_id"], "at": row["updated_at"],
                                   "what": f"{row['message_type'] or '?'} {row['business_id'] or ''} "
                                           f"(document {row['document_id']})",
                                   "reason": f"after {row['attempts']} attempts: {row['last_error']}"})
        for row in decisions:
            key = ("DECISION_FAILED", row["name"], row["endpoint"])
            group = groups.setdefault(key, {"id": "|".join(key), "state": "DECISION_FAILED", "cause": row["name"],
                                            "endpoint": row["endpoint"], "items": []})
            group["items"].append({"id": row["document_id"], "at": row["decided_at"],
                                   "what": f"{row['name']} {row['gather_key']}", "reason": "the decision failed"})
        return {"groups": sorted(groups.values(), key=lambda g: (-len(g["items"]), g["id"]))}

    # -- alerts --------------------------------------------------------------

    def alerts(self) -> dict:
        """Overdue receipts, error spikes, endpoints down or silent, dead deliveries, failed decisions;
        by severity, each with a stable id its acknowledgement is kept under."""
        with self.journal() as journal:
            overdue = journal.rows("SELECT * FROM expectations WHERE state = ? ORDER BY due_at LIMIT 500",
                                   (j.OVERDUE,))
            window = _ago(minutes=SPIKE_WINDOW_MINUTES)
            spikes = journal.rows(
                "SELECT endpoint, COUNT(*) AS n FROM documents WHERE state IN (?, ?) AND received_at >= ?"
                " GROUP BY endpoint", (j.REJECTED, j.FAILED, window))
            dead = journal.rows("SELECT b AS endpoint, n FROM counts WHERE scope = 'delivery' AND state = ? AND n > 0",
                                (j.DEAD,))
            decisions = journal.rows("SELECT * FROM gathers WHERE state = ?", (j.DECISION_FAILED,))
            endpoints = self._endpoints(journal)
            acks = {a["alert_id"]: a for a in journal.rows("SELECT * FROM alert_acks")}
        alerts = []

        def alert(alert_id: str, severity: str, kind: str, subject: str, text: str, link: str = "") -> None:
            alerts.append({"id": alert_id, "severity": severity, "kind": kind, "subject": subject, "text": text,
                           "link": link, "ack": acks.get(alert_id)})

        hour_ago = _ago(hours=1)
        for row in overdue:
            alert(f"overdue:{row['expectation_id']}", "critical" if row["due_at"][:19] < hour_ago else "warning",
                  "overdue receipt", row["endpoint"], f"no {row['receipt_type']} from {row['endpoint']} for "
                  f"document {row['document_id']} (due {row['due_at'][:19]})", f"/documents/{row['document_id']}")
        bucket = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H")
        for row in spikes:
            if row["n"] >= SPIKE_WARNING:
                alert(f"spike:{row['endpoint']}:{bucket}", "critical" if row["n"] >= SPIKE_CRITICAL else "warning",
                      "error spike", row["endpoint"], f"{row['n']} documents from {row['endpoint']} refused in the "
                      f"last {SPIKE_WINDOW_MINUTES} minutes", f"/search?sender={row['endpoint']}&state=REJECTED")
        for row in endpoints:
            if row["stale"]:
                alert(f"silent:{row['node']}:{row['updated_at'][:13]}", "critical", "hub not reporting",
                      row["endpoint"], f"hub {row['node']} has not reported since {row['updated_at'][:19]}")
            elif not row["connected"]:
                cause = hashlib.sha256(row["last_error"].encode()).hexdigest()[:12]
                alert(f"down:{row['endpoint']}:{row['node']}:{cause}", "critical",
                      "endpoint down", row["endpoint"], row["last_error"])
        for row in dead:
            alert(f"dead:{row['endpoint']}:{row['n']}", "warning", "dead deliveries", row["endpoint"],
                  f"{row['n']} deliveries to {row['endpoint']} are DEAD", "/failures")
        for row in decisions:
            alert(f"decision:{row['name']}:{row['gather_key']}", "critical", "decision failed", row["endpoint"],
                  f"{row['name']} {row['gather_key']}: the decision failed", f"/documents/{row['document_id']}")
        order = {"critical": 0, "warning": 1}
        alerts.sort(key=lambda a: (a["ack"] is not None, order[a["severity"]], a["kind"]))
        return {"alerts": alerts, "open": sum(1 for a in alerts if a["ack"] is None)}

    # -- audit ---------------------------------------------------------------

    def drift(self) -> dict:
        """Schema drift per type and party (``exchange.drift``): what authorities send that the hub's
        schemas do not describe, each field with its first and last sighting and document count."""
        with self.journal() as journal:
            rows = DriftLog(journal).summary()
        groups: dict[tuple[str, str], list[dict]] = {}
        for row in rows:
            groups.setdefault((row["message_type"], row["endpoint"]), []).append(row)
        return {"fields": len(rows), "groups": [
            {"type": type_, "endpoint": endpoint, "fields": fields,
             "documents": max(f["documents"] for f in fields), "last_seen": max(f["last_seen"] for f in fields)}
            for (type_, endpoint), fields in sorted(groups.items(), key=lambda item: item[1][0]["last_seen"],
                                                    reverse=True)]}

    def audit_log(self, limit: int = 200) -> list[dict]:
        with self.journal() as journal:
            rows = journal.rows("SELECT seq, at, kind, reason, detail FROM events WHERE document_id = ?"
                                " ORDER BY seq DESC LIMIT ?", (j.AUDIT, limit))
        for row in rows:
            row["detail"] = json.loads(row["detail"])
        return rows

    # -- metrics -------------------------------------------------------------

    def metrics(self) -> dict:
        with self.journal() as journal:
            counts = journal.rows("SELECT scope, a, b, state, n FROM counts")
            expectations = journal.rows("SELECT endpoint, state, COUNT(*) AS n FROM expectations"
                                        " WHERE state IN (?, ?) GROUP BY endpoint, state", (j.WAITING, j.OVERDUE))
            endpoints = self._endpoints(journal)
        return {"counts": counts, "expectations": expectations, "endpoints": endpoints}
