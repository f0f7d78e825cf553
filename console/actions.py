"""What an operator does from the console, each journaled with who and why.

Actions write through their own journal connection and an engine without adapters, as
``hub resubmit`` does: what they queue, the running hub's next scan sends.
"""

from __future__ import annotations

import threading

from exchange import journal as j
from exchange.engine import Engine
from exchange.errors import HubError


class Actions:
    def __init__(self, open_journal, context, batch_size: int = 100, data_dir=None):
        self._open = open_journal
        self.context = context
        self.data_dir = data_dir  # where local endpoints' folders are (for their self-test)
        self.batch_size = batch_size
        self._lock = threading.Lock()  # one writer from the console at a time
        self._journal = None

    def _engine(self) -> Engine:
        if self._journal is None:
            self._journal = self._open()
        return Engine(self.context, self._journal, {}, {}, batch_size=self.batch_size, owner="")

    def resubmit(self, ids: list[str], *, by: str, reason: str, corrected: bytes | None = None) -> dict:
        """Resubmit documents or deliveries one by one; the outcome of each, and the documents refused
        meanwhile (failures that arrived while the group was being resubmitted)."""
        if not reason:
            return {"results": [{"id": i, "ok": False, "message": "a reason is required"} for i in ids],
                    "arrived": []}
        results = []
        with self._lock:
            engine = self._engine()
            started = j.now()
            ids = list(dict.fromkeys(ids))
            documents = set(ids)
            for ident in ids:
                delivery = self._journal.delivery(ident)
                if delivery is not None and delivery["document_id"] in documents:
                    results.append({"id": ident, "ok": True, "message": "sent again with its document"})
                    continue
                try:
                    result = engine.resubmit(ident, by=by, reason=reason, corrected=corrected)
                except HubError as exc:
                    results.append({"id": ident, "ok": False, "message": exc.reason})
                    continue
                ok = result.get("accepted", True)
                message = ("queued again" if "requeued" in result else
                           "decided again" if "decided" in result else
                           f"accepted as {result['new_document_id']}" if ok else
                           f"refused again as {result['new_document_id']}: {result['reason']}")
                results.append({"id": ident, "ok": ok, "message": message, **result})
            arrived = self._journal.rows(
                "SELECT document_id, endpoint, message_type, reason FROM documents WHERE state IN (?, ?)"
                " AND received_at >= ? AND resubmission_of = '' ORDER BY received_at", (j.REJECTED, j.FAILED, started))
        return {"results": results, "arrived": arrived}

    def acknowledge(self, alert_id: str, *, by: str, reason: str) -> None:
        with self._lock:
            engine = self._engine()
            with engine.journal.transaction():
                engine.journal.acknowledge_alert(alert_id, by, reason)
                engine.journal.record_action("ACKNOWLEDGED", by, reason, {"alert": alert_id})

    def self_test(self, name: str, *, by: str) -> dict:
        """Run an endpoint's self-test (adapters.selftest) and journal it, as `hub endpoint check` does."""
        from adapters.selftest import FAILED, check

        endpoint = self.context.endpoints.get(name)
        if endpoint is None:
            return {"endpoint": name, "passed": False, "steps": [{"name": "the endpoint exists", "outcome": FAILED,
                                                                  "explanation": f"no endpoint {name}"}]}
        steps = [step.as_dict() for step in check(endpoint, self.context.catalog, self.data_dir, self.context.limits)]
        passed = all(step["outcome"] != FAILED for step in steps)
        with self._lock:
            engine = self._engine()
            with engine.journal.transaction():
                engine.journal.append(f"endpoint:{name}", "SELF_TEST", endpoint=name,
                                      reason="passed" if passed else "failed", detail={"by": by, "steps": steps})
                engine.journal.record_action("SELF_TEST", by, "passed" if passed else "failed", {"endpoint": name})
        return {"endpoint": name, "passed": passed, "steps": steps}

    def audit(self, kind: str, by: str, reason: str = "", detail: dict | None = None) -> None:
        with self._lock:
            engine = self._engine()
            with engine.journal.transaction():
                engine.journal.record_action(kind, by, reason, detail)

    def close(self) -> None:
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
