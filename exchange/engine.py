"""The engine: moves documents from inbound adapters through the pipeline into the outbox.

One poll does three things:

1. For each inbound endpoint, take a batch of waiting documents and, in ONE
   journal transaction (group commit), record each one (RECEIVED, its bytes),
   run the pure pipeline on it and record the outcome: the planned copies
   (outbox rows, PENDING) or the rejection and its error receipt. Only after
   the commit are the sources acknowledged (SentBox) or refused (FailBox), and
   the new deliveries handed to the delivery workers (``delivery.Deliverer``).
2. Record, in one transaction, which deliveries the workers finished. A failed
   send is retried with exponential backoff; after ``max_attempts`` it is DEAD.
3. Now and then, hand the workers what the outbox holds from an earlier run
   or whose retry is due.

The journal is only ever touched from the engine's thread. A crash anywhere
leaves either an unacknowledged source (read again, and recognised as a
duplicate by its bytes) or a PENDING delivery (sent again under the same name,
so a folder destination is overwritten, not doubled).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from . import journal as j
from . import logs
from .config import RetryPolicy
from .delivery import Deliverer, Result
from .drift import DriftLog
from .errors import DocumentError, HubError, RefusedInput, ReusedMessageId, TransportError
from .facts import Earlier
from .journal import Journal
from .message import Inbound, Message, Outgoing, new_id
from .parsing import check_size
from .pipeline import Context, Outcome, business_fingerprint, process
from .receipts import ANSWER_TYPE, error_receipt, error_receipt_name


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


class JournalFacts:
    """``facts.Facts`` from the journal, for the pure steps (read in the engine's thread)."""

    def __init__(self, journal: Journal):
        self.journal = journal

    def correlated(self, keys: dict[str, str]) -> list[Earlier]:
        return [Earlier(row["document_id"], row["endpoint"], row["message_type"], row["received_at"], row["keys"],
                        frozenset(row["awaiting"])) for row in self.journal.correlated(keys)]


class _Nothing:
    """The acknowledgement of a resubmitted document: its source was settled long ago."""

    def ack(self) -> None:
        pass

    def nack(self, reason: str) -> None:
        pass


@dataclass
class _Decision:
    item: Inbound
    document_id: str
    accepted: bool
    reason: str = ""


class Engine:
    def __init__(self, context: Context, journal: Journal, inbound: dict, outbound: dict,
                 batch_size: int = 100, owner: str = ""):
        self.context = dataclasses.replace(context, facts=JournalFacts(journal))
        self.journal = journal
        self.drift = DriftLog(journal)
        self.inbound = inbound
        self.outbound = outbound
        self.batch_size = batch_size
        # Who claims the deliveries this engine sends: stable across restarts of one deployment (so
        # a restarted hub takes its own claims back at once), distinct between processes that share
        # a PostgreSQL journal. Empty: queue only, for a running hub to send (``hub resubmit``).
        self.owner = owner
        self.lease = 60.0  # seconds a claim lasts without renewal; renewed on every scan
        self.log = logs.get()
        self.deliverer = Deliverer(outbound)
        self.resources: list = []  # inbound adapters and the data folder's lock, closed by close()
        self.scan_interval = 1.0  # how often the outbox is searched for deliveries due again
        self._next_scan = 0.0
        self._timeouts_due = False  # set by a scan; checked after the next intake
        self._keeper = None  # renews this process's delivery claims beside the engine's thread (PostgreSQL)
        self.health: dict[str, dict] = {}  # endpoint -> last contact, last error (reported to the journal)
        self.latency = None  # anything with observe(endpoint, seconds): queued-to-delivered times (/metrics)
        self._queued_at: dict[str, float] = {}
        self._next_report = 0.0
        self._sending: dict[str, j.PendingDelivery] = {}  # handed to a worker, not yet settled
        self._endpoint_errors: dict[str, str] = {}  # the last receive error per endpoint, until it recovers
        self._fresh: list[tuple[j.PendingDelivery, bytes]] = []  # queued in the open transaction

    # -- receiving -----------------------------------------------------------

    def poll(self) -> int:
        """Take in what is waiting on every endpoint, then deliver. Returns how much work was done."""
        done = 0
        for name, adapter in self.inbound.items():
            try:
                batch = adapter.receive(self.batch_size)
            except Exception as exc:  # noqa: BLE001 - one partner's failure must not stop the others
                reason = exc.reason if isinstance(exc, TransportError) else f"{type(exc).__name__}: {exc}"
                self._contact(name, reason)
                if self._endpoint_errors.get(name) != reason:  # once per change, not once per poll
                    self._endpoint_errors[name] = reason
                    self.log.error("endpoint.receive_failed", endpoint=name, error=reason)
                continue
            self._contact(name, "")
            if self._endpoint_errors.pop(name, None) is not None:
                self.log.info("endpoint.recovered", endpoint=name)
            if batch:
                done += self.take_in(batch)
        done += self.settle_finished()
        done += self.submit_due()
        if time.monotonic() >= self._next_report:
            self._next_report = time.monotonic() + 5.0
            self.report_health()
        if self._timeouts_due:  # after this poll's intake: what waited while the hub was down counts first
            self._timeouts_due = False
            done += self.check_overdue() + self.check_gathers()
        logs.flush()
        return done

    def take_in(self, batch: list[Inbound]) -> int:
        try:
            with self.journal.transaction():
                decisions = [self._record_safely(item) for item in batch]
                if self.owner and self._fresh:
                    self.journal.extend_claims([pending.delivery_id for pending, _ in self._fresh], self.lease)
        except BaseException:
            self._fresh.clear()  # rolled back: these deliveries do not exist
            raise
        for pending, body in self._fresh:  # committed: hand them to their workers
            self._submit(pending, body)
        self._fresh.clear()
        for decision in decisions:  # only now, after the commit, settle the sources
            try:
                if decision.accepted:
                    decision.item.acknowledgement.ack()
                else:
                    decision.item.acknowledgement.nack(decision.reason)
            except Exception as exc:  # noqa: BLE001 - one source's failure must not stop the hub
                # The journal holds it; the source will be read again and recognised as a duplicate.
                reason = exc.reason if isinstance(exc, TransportError) else f"{type(exc).__name__}: {exc}"
                self.log.error("source.settle_failed", document_id=decision.document_id,
                               endpoint=decision.item.message.endpoint, error=reason)
        return len(decisions)

    def _record_safely(self, item: Inbound) -> _Decision:
        """Record one document; whatever goes wrong with it is its own failure, not the batch's."""
        mark = len(self._fresh)
        try:
            with self.journal.savepoint():
                return self._record(item)
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the hub or lose the other documents
            del self._fresh[mark:]
            document_id = new_id()
            log = self.log.bind(document_id=document_id, endpoint=item.message.endpoint,
                                source_name=item.message.name)
            log.exception("document.internal_error")
            error = HubError(f"internal error: {type(exc).__name__}: {exc}")
            with self.journal.savepoint():
                row = self._received(item.message, document_id, log, store=False)
                return self._refuse(item, row, {}, Outcome(error=error), log)

    def _received(self, message, document_id: str, log, store: bool = True, resubmission: dict | None = None
                  ) -> dict:
        """Journal the arrival. Bytes over the size limit are not kept (the source keeps them)."""
        digest = ""
        if store and message.size <= self.context.limits.max_bytes and len(message.body) == message.size:
            digest = self.journal.store_body(message.body)
        detail = {"name": message.name, "sha256": digest, "size": message.size}
        if resubmission:
            detail["resubmission"] = resubmission
        self.journal.append(document_id, "RECEIVED", endpoint=message.endpoint, detail=detail)
        log.info("document.received", size=message.size, sha256=digest, resubmission_of=(resubmission or {}).get("of"))
        return {"document_id": document_id, "endpoint": message.endpoint, "source_name": message.name,
                "digest": digest, "size": message.size, "resubmission_of": (resubmission or {}).get("of", "")}

    def _record(self, item: Inbound, resubmission: dict | None = None) -> _Decision:
        """Journal one received document and everything the pipeline decided about it. A
        ``resubmission`` (of, by, reason) is an operator's: not a duplicate of what it replaces."""
        message = item.message
        document_id = new_id()
        log = self.log.bind(document_id=document_id, endpoint=message.endpoint, source_name=message.name)
        row = self._received(message, document_id, log, resubmission=resubmission)
        digest = row["digest"]
        if not digest:  # too large to read: refused on its size alone
            try:
                check_size(message.size, self.context.limits)
            except RefusedInput as exc:
                return self._refuse(item, row, {}, Outcome(error=exc), log)
        outcome = process(message.body, message.endpoint, message.name, self.context)

        facts: dict = {}
        business = (outcome.envelope.inner or outcome.envelope) if outcome.envelope else None
        if business is not None:
            keys = dict(business.keys)
            if outcome.envelope.inner is not None:  # came in a DxpMsg: a DxpRep finds it by its CopMsgId
                keys["cop_msg_id"] = outcome.envelope.message_id
            facts = {"message_type": business.message_type, "dialect": outcome.kind.dialect if outcome.kind else "",
                     "message_id": business.message_id, "sender": business.sender,
                     "business_id": business.business_id, "part": business.part, "keys": keys}
            log = log.bind(message_type=business.message_type, sender=business.sender,
                           message_id=business.message_id, business_id=business.business_id)
        # At least once from the source, at most once onwards: a document this endpoint already
        # got accepted (same bytes, or same sender, type and message id) is not delivered again.
        refused = None if resubmission else self.journal.find_refused(
            endpoint=message.endpoint, digest=digest, source_name=message.name)
        if refused:
            # The same file again: its move to FailBox (or its nack) failed after it was refused.
            # Park it again, but do not answer twice.
            reason = f"the same file as {refused}, which was refused and answered; parked again"
            self.journal.append(document_id, "DUPLICATE", endpoint=message.endpoint, reason=reason,
                                detail={"original": refused})
            self.journal.add_document(**row, state=j.DUPLICATE, reason=reason)
            log.warning("document.duplicate", original=refused, reason=reason)
            return _Decision(item, document_id, False, reason)
        earlier = self.journal.find_accepted(
            endpoint=message.endpoint, digest=digest, sender=business.sender if business else "",
            message_type=business.message_type if business else "",
            message_id=business.message_id if business and outcome.accepted else "",
            part=business.part if business else "")
        if earlier:
            original, original_digest = earlier
            if original_digest == digest:
                return self._duplicate(item, row, facts, original, "the same bytes", log)
            if self._same_business(original_digest, message.body):
                return self._duplicate(item, row, facts, original,
                                       f"message id {business.message_id}, same business content", log)
            outcome = Outcome(kind=outcome.kind, envelope=outcome.envelope, error=ReusedMessageId(
                f"message id {business.message_id} was already accepted from {business.sender or message.endpoint} "
                f"as document "
                f"{original}, with different business content; send a correction with a new message id"))

        for step in outcome.steps:
            self.journal.append(document_id, step.kind, endpoint=step.endpoint, route=step.route, detail=step.detail)
            log.info(f"document.{step.kind.lower()}", route=step.route or None, **step.detail)
        if outcome.drift and outcome.kind is not None:  # accepted or not: operators learn the format changed
            fields = self.drift.record(document_id, outcome.kind.type, message.endpoint, outcome.drift)
            log.warning("document.schema_drift", fields=[
                {"kind": f["kind"], "path": f["path"], "first_seen": f["first_seen"], "count": f["count"]}
                for f in fields[:20]], more=max(0, len(fields) - 20))
        if not outcome.accepted:
            return self._refuse(item, row, facts, outcome, log)

        for copy in outcome.copies:
            self._queue(document_id, {**facts, "source": message.endpoint}, endpoint=copy.destination.endpoint,
                        route=copy.destination.route,
                        map_name=copy.destination.map or "", body=copy.body,
                        digest=digest if copy.body is message.body else None,
                        name=f"{copy.message_type}_{document_id}.xml", kind=j.ROUTED_COPY, event="QUEUED")
            for receipt_type, within in self._owed(copy.destination.route, copy.destination.endpoint,
                                                   copy.message_type):
                self.journal.add_expectation(document_id, copy.destination.endpoint, copy.destination.route,
                                             receipt_type, within)
        if outcome.answers is not None:
            self._correlate(document_id, business.message_type, message.endpoint, outcome.answers, log,
                            {} if outcome.ambiguous else {**facts["keys"], "business_id": facts["business_id"]})
        self.journal.add_document(**row, state=j.ACCEPTED, **facts)
        if outcome.kind is not None:  # after its row: a decision reads every answer's journaled bytes
            self._gather(outcome.kind.type, facts, document_id, message.endpoint, log)
        return _Decision(item, document_id, True)

    def _owed(self, route: str, endpoint: str, message_type: str) -> tuple[tuple[str, float], ...]:
        """The receipts a copy awaits: its route's ``expect`` and what its endpoint ``owes`` for the type."""
        rule = self.context.router.rule(route)
        receiver = self.context.endpoints.get(endpoint)
        owed = tuple((receipt, within) for receipt, for_type, within in (receiver.owes if receiver else ())
                     if for_type == message_type)
        return (rule.expects if rule is not None else ()) + owed

    def _correlate(self, document_id: str, message_type: str, endpoint: str, original: Earlier, log,
                   keys: dict[str, str]) -> None:
        """A receipt that answers an earlier document: both sides journaled, its expectation settled,
        and the numbers it assigned (SeqNo, BondInvtNo) learnt as the original's keys."""
        expected = self.journal.fulfil_expectation(original.document_id, endpoint, message_type, document_id)
        learnt = self.journal.learn_keys(original.document_id, {k: v for k, v in keys.items() if k != "cop_msg_id"})
        state = expected["state"] if expected else "UNEXPECTED"
        self.journal.append(document_id, "CORRELATED", endpoint=endpoint,
                            detail={"original": original.document_id, "type": original.message_type})
        reason = {j.RECEIVED: "in time", j.LATE: "after its deadline had passed",
                  "UNEXPECTED": "no route expected it"}[state]
        self.journal.append(original.document_id, "RECEIPT", endpoint=endpoint, reason=f"{message_type} {reason}",
                            detail={"receipt": document_id, "type": message_type, "state": state,
                                    **({"learnt_keys": learnt} if learnt else {})})
        log.info("receipt.correlated", original=original.document_id, original_type=original.message_type,
                 state=state)

    # -- gatherings (scatter-gather) -----------------------------------------

    def _gather(self, message_type: str, facts: dict, document_id: str, endpoint: str, log) -> None:
        """Open a gathering for a starting document; collect an answer, deciding when all are in."""
        keys = {**facts.get("keys", {}), "business_id": facts.get("business_id", "")}
        for gather in self.context.gathers:
            key = keys.get(gather.key, "")
            if message_type == gather.start and key:
                opened = self.journal.open_gather(gather.name, key, document_id, endpoint, facts.get("sender", ""),
                                                  gather.within)
                detail = {"gathering": gather.name, "key": key, "members": [m for m, _ in gather.members],
                          "within_s": gather.within}
                self.journal.append(document_id, "GATHER_OPENED" if opened else "GATHER_EXISTS", endpoint=endpoint,
                                    reason="" if opened else f"{gather.name} {key} is already open or decided",
                                    detail=detail)
                log.info("gather.opened" if opened else "gather.exists", gathering=gather.name, key=key)
            elif message_type == gather.answer and key:
                member = keys.get(gather.member, "")
                gathering = self.journal.gather(gather.name, key)
                if gathering is None:
                    self.journal.append(document_id, "UNMATCHED", endpoint=endpoint,
                                        reason=f"no {gather.name} {key} is open: kept, not gathered")
                    log.warning("gather.unmatched", gathering=gather.name, key=key, member=member)
                    continue
                late = gathering["state"] == j.DECIDED
                self.journal.add_answer(gather.name, key, member, document_id, late)
                kind = "LATE_ANSWER" if late else "ANSWER"
                self.journal.append(gathering["document_id"], kind, endpoint=endpoint,
                                    reason=f"{member} answered" + (" after the decision" if late else ""),
                                    detail={"gathering": gather.name, "member": member, "answer": document_id})
                self.journal.append(document_id, "GATHERED", endpoint=endpoint,
                                    detail={"gathering": gather.name, "start": gathering["document_id"],
                                            "late": late})
                (log.warning if late else log.info)("gather.late_answer" if late else "gather.answer",
                                                    gathering=gather.name, key=key, member=member)
                answered = {row["member"] for row in self.journal.answers(gather.name, key)}
                if not late and answered >= {m for m, _ in gather.members}:
                    self._decide(gather, gathering, "every member answered")

    def _decide(self, gather, gathering: dict, why: str) -> None:
        """Make the gathering's decision with its stylesheet, check it, and queue it for the starter."""
        from lxml import etree

        from .gathering import gathering_document
        from .parsing import parse
        from .pipeline import read_document

        key = gathering["gather_key"]
        log = self.log.bind(document_id=gathering["document_id"], gathering=gather.name, key=key)
        start = parse(self.journal.body(self.journal.document(gathering["document_id"])["sha256"]),
                      self.context.limits).getroot()
        answers = {}
        for row in self.journal.answers(gather.name, key):  # the latest answer of each member counts
            if not row["late"]:
                body = self.journal.body(self.journal.document(row["document_id"])["sha256"])
                answers[row["member"]] = parse(body, self.context.limits).getroot()
        decided_at = j.now()[:19]
        tree = gathering_document(gather, key, start, answers, decided_at=decided_at, why=why,
                                  message_id=f"{self.context.node_id}-{gather.decision}-{key}"[:128],
                                  sender=self.context.node_id, receiver=gathering["receiver"])
        try:
            body = etree.tostring(gather.transform(tree), xml_declaration=True, encoding="UTF-8")
            kind, document = read_document(body, self.context)
            if kind.type != gather.decision:
                raise HubError(f"the stylesheet of {gather.name} made a {kind.type}, not a {gather.decision}")
            self.context.catalog.validate(kind, document, file=f"decision of {gather.name}")
        except (HubError, etree.XSLTApplyError) as exc:
            # The hub's own fault (its stylesheet): recorded once, listed by `hub failed`, decided again
            # by `hub resubmit` on the starting document once the stylesheet is fixed.
            reason = exc.reason if isinstance(exc, HubError) else str(exc)
            if self.journal.close_gather(gather.name, key, j.DECISION_FAILED):
                self.journal.append(gathering["document_id"], "DECISION_FAILED",
                                    reason=f"{gather.name} decision: {reason}",
                                    detail={"issues": [i.as_dict() for i in getattr(exc, "issues", [])]})
                log.error("gather.decision_failed", reason=reason)
            return
        decision = (document.body.findtext(f"{{{kind.namespace}}}Decision") or "").strip()
        silent = [m for m, _ in gather.members if m not in answers]
        if not self.journal.close_gather(gather.name, key, j.DECIDED, decision):
            return  # another hub process decided it first
        self.journal.append(gathering["document_id"], "DECIDED", reason=f"{decision}: {why}",
                            detail={"gathering": gather.name, "decision": decision, "answered": sorted(answers),
                                    "silent": silent})
        facts = {"message_type": kind.type, "message_id": document.business.message_id,
                 "sender": self.context.node_id}
        self._queue(gathering["document_id"], {**facts, "source": "hub"}, endpoint=gathering["endpoint"],
                    route=gather.name, map_name="",
                    body=body, digest=None, name=f"{kind.type}_{gathering['document_id']}.xml", kind=j.HUB_DOCUMENT,
                    event="DECISION_QUEUED")
        log.info("gather.decided", decision=decision, why=why, silent=silent)

    def check_gathers(self) -> int:
        """Decide every gathering whose time is up, naming the members that stayed silent."""
        if not self.context.gathers or not self.journal.due_gathers():  # the cheap look, outside the lock
            return 0
        by_name = {gather.name: gather for gather in self.context.gathers}
        try:
            with self.journal.transaction():
                due = self.journal.due_gathers()  # again under the lock: another process may have decided
                for gathering in due:
                    gather = by_name.get(gathering["name"])
                    if gather is not None:
                        self._decide(gather, gathering, f"time is up ({_duration(gather.within)})")
        except BaseException:
            self._fresh.clear()
            raise
        fresh, self._fresh = self._fresh, []
        for pending, body in fresh:
            self._submit(pending, body)
        return len(due)

    def check_overdue(self) -> int:
        """Alert on every receipt whose time ran out: a log event and a journal event (``hub status``)."""
        if not self.journal.overdue_expectations():  # the cheap look, outside the lock
            return 0
        with self.journal.transaction():
            overdue = self.journal.overdue_expectations()
            for row in overdue:
                if not self.journal.mark_overdue(row["expectation_id"]):
                    continue
                reason = (f"no {row['receipt_type']} from {row['endpoint']} within "
                          f"{_duration(row['within_s'])} of delivery (due {row['due_at']})")
                self.journal.append(row["document_id"], "RECEIPT_OVERDUE", endpoint=row["endpoint"],
                                    route=row["route"], reason=reason,
                                    detail={"receipt_type": row["receipt_type"], "due_at": row["due_at"]})
                self.log.error("receipt.overdue", document_id=row["document_id"], endpoint=row["endpoint"],
                               route=row["route"], receipt_type=row["receipt_type"], due_at=row["due_at"],
                               reason=reason)
        return len(overdue)

    def _same_business(self, earlier_digest: str, body: bytes) -> bool:
        try:
            return (business_fingerprint(self.journal.body(earlier_digest), self.context)
                    == business_fingerprint(body, self.context))
        except (HubError, KeyError):
            return False

    def _duplicate(self, item: Inbound, row: dict, facts: dict, earlier: str, why: str, log) -> _Decision:
        reason = f"duplicate of {earlier} ({why}); not delivered again"
        self.journal.append(row["document_id"], "DUPLICATE", endpoint=item.message.endpoint, reason=reason,
                            detail={"original": earlier})
        self.journal.add_document(**row, state=j.DUPLICATE, reason=reason, **facts)
        log.warning("document.duplicate", original=earlier, reason=reason)
        return _Decision(item, row["document_id"], True)

    def _refuse(self, item: Inbound, row: dict, facts: dict, outcome: Outcome, log) -> _Decision:
        error = outcome.error
        document_id = row["document_id"]
        # The sender's fault is REJECTED; the hub's own (a map, a bug) is FAILED for operators to fix.
        state = j.REJECTED if isinstance(error, DocumentError) else j.FAILED
        detail = {"code": error.code, "issues": [issue.as_dict() for issue in error.issues]}
        self.journal.append(document_id, state, endpoint=item.message.endpoint, reason=error.reason, detail=detail)
        self.journal.add_document(**row, state=state, reason=error.reason, code=error.code, **facts)
        log_method = log.warning if state == j.REJECTED else log.error
        log_method(f"document.{state.lower()}", code=error.code, reason=error.reason,
                   issues=[str(issue) for issue in error.issues],
                   duration_ms=round(outcome.seconds * 1000, 3))
        # Answer the endpoint it came from, listing every issue.
        self._queue(document_id, {**facts, "message_type": ANSWER_TYPE, "source": "hub"},
                    endpoint=item.message.endpoint,
                    route="", map_name="",
                    body=error_receipt(document_id, item.message.name, error, outcome.envelope), digest=None,
                    name=error_receipt_name(document_id, outcome.envelope), kind=j.ERROR_RECEIPT,
                    event="ANSWER_QUEUED")
        return _Decision(item, document_id, False, error.reason)

    def _queue(self, document_id: str, facts: dict, *, endpoint: str, route: str, map_name: str, body: bytes,
               digest: str | None, name: str, kind: str, event: str) -> None:
        """Put one delivery in the outbox; it is handed to its worker once the batch is committed."""
        delivery_id = new_id()
        digest = digest or self.journal.store_body(body)
        self.journal.add_delivery(delivery_id, document_id, endpoint, route, map_name, digest, name, kind,
                                  owner=self.owner, lease=self.lease, source=facts.get("source", ""))
        self.journal.append(document_id, event, endpoint=endpoint, route=route,
                            detail={"delivery_id": delivery_id, "name": name, "sha256": digest})
        pending = j.PendingDelivery(delivery_id, document_id, endpoint, route, digest, name, kind, 0,
                                    facts.get("message_type", ""), facts.get("message_id", ""),
                                    facts.get("sender", ""))
        self._fresh.append((pending, body))
        if self.latency is not None:
            self._queued_at[delivery_id] = time.monotonic()

    # -- operators -----------------------------------------------------------

    def resubmit(self, ident: str, *, by: str, reason: str, corrected: bytes | None = None) -> dict:
        """Send again what failed, as an operator asks (``hub resubmit``):

        - a DEAD delivery, or every DEAD delivery of a document: back in the outbox, due now;
        - a refused (REJECTED or FAILED) document: processed again as a new document that names its
          original, from its journaled bytes or from a ``corrected`` version.

        Journaled on the original as RESUBMITTED with who and why. What is queued is sent by the
        running hub (this engine's owner, or any hub when it has none)."""
        if not by.strip() or not reason.strip():
            raise HubError("a resubmission needs who asks for it and why")
        who = {"by": by, "reason": reason}
        with self.journal.transaction():
            delivery = self.journal.delivery(ident)
            document = self.journal.document(delivery["document_id"] if delivery else ident)
            if document is None:
                raise HubError(f"nothing in the journal is known as {ident}")
            dead = [d for d in self.journal.deliveries(document["document_id"]) if d["state"] == j.DEAD
                    and (delivery is None or d["delivery_id"] == delivery["delivery_id"])]
            if delivery is not None and not dead:
                raise HubError(f"delivery {ident} is {delivery['state']}, not DEAD: nothing to resubmit")
            if dead:
                if corrected is not None:
                    raise HubError("a corrected document replaces a refused one; these deliveries failed in "
                                   "transport and are sent again as they are")
                for row in dead:
                    self.journal.requeue_delivery(row["delivery_id"])
                    self.journal.append(row["document_id"], "RESUBMITTED", endpoint=row["endpoint"],
                                        route=row["route"], reason=reason,
                                        detail={**who, "delivery_id": row["delivery_id"]})
                self.log.info("document.resubmitted", document_id=document["document_id"],
                              deliveries=[row["delivery_id"] for row in dead], **who)
                result = {"document_id": document["document_id"], "requeued": [row["delivery_id"] for row in dead]}
            elif failed_decisions := [g for g in self.journal.gathers_started_by(document["document_id"])
                                      if g["state"] == j.DECISION_FAILED]:
                by_name = {gather.name: gather for gather in self.context.gathers}
                for gathering in failed_decisions:
                    self.journal.reopen_gather(gathering["name"], gathering["gather_key"])
                    self.journal.append(document["document_id"], "RESUBMITTED", reason=reason,
                                        detail={**who, "gathering": gathering["name"]})
                    if gathering["name"] in by_name:
                        self._decide(by_name[gathering["name"]], {**gathering, "state": j.OPEN},
                                     f"decided again, as {by} asked")
                states = [g["state"] for g in self.journal.gathers_started_by(document["document_id"])]
                result = {"document_id": document["document_id"], "decided": states, "accepted": j.DECISION_FAILED
                          not in states, "reason": "" if j.DECISION_FAILED not in states else "the decision failed again"}
            elif document["state"] in (j.REJECTED, j.FAILED):
                body = corrected if corrected is not None else self.journal.body(document["sha256"])
                item = Inbound(Message(body=body, endpoint=document["endpoint"], name=document["source_name"]),
                               _Nothing())
                decision = self._record(item, resubmission={"of": document["document_id"], **who,
                                                            "corrected": corrected is not None})
                self.journal.append(document["document_id"], "RESUBMITTED", endpoint=document["endpoint"],
                                    reason=reason, detail={**who, "as": decision.document_id,
                                                           "corrected": corrected is not None})
                result = {"document_id": document["document_id"], "new_document_id": decision.document_id,
                          "accepted": decision.accepted, "reason": decision.reason}
            else:
                raise HubError(f"document {document['document_id']} is {document['state']} with no DEAD "
                               "delivery: nothing to resubmit")
            self.journal.record_action("RESUBMIT", by, reason, {"document_id": document["document_id"],
                                                        "corrected": corrected is not None, **result})
        fresh, self._fresh = self._fresh, []
        if self.owner:  # a running engine sends what it queued; a command leaves it to the running hub
            for pending, body in fresh:
                self._submit(pending, body)
        logs.flush()
        return result

    # -- delivering ----------------------------------------------------------

    def _submit(self, pending: j.PendingDelivery, body: bytes) -> None:
        """Hand one delivery to its endpoint's worker, unless that worker has enough to do:
        then it stays PENDING in the journal and a later scan hands it over."""
        if self.deliverer.submit(pending.endpoint, Outgoing(
            delivery_id=pending.delivery_id,
            document_id=pending.document_id,
            body=body,
            name=pending.name,
            headers={"document_id": pending.document_id, "message_type": pending.message_type,
                     "message_id": pending.message_id, "sender": pending.sender,
                     "delivery_id": pending.delivery_id},
        )):
            self._sending[pending.delivery_id] = pending

    def submit_due(self, force: bool = False) -> int:
        """Hand the workers what the outbox holds from earlier runs, or whose retry is due."""
        if not force and time.monotonic() < self._next_scan:
            return 0
        self._next_scan = time.monotonic() + self.scan_interval
        submitted = 0
        with self.journal.transaction():
            self.journal.renew_claims(self.owner, self.lease)
            due = self.journal.claim_due(self.owner, self.batch_size * 4, self.lease, set(self._sending))
        for pending in due:
            self._submit(pending, self.journal.body(pending.sha256))
            submitted += 1
        self._timeouts_due = True
        return submitted

    def settle_finished(self, wait: float = 0.0) -> int:
        """Record what the workers finished, in one transaction."""
        results = self.deliverer.results(wait)
        if results:
            with self.journal.transaction():
                delivered = [self._settle(self._sending[result.delivery_id], result) for result in results]
                self.journal.settle_documents([document_id for document_id in delivered if document_id])
            for result in results:  # recorded: no longer in flight
                del self._sending[result.delivery_id]
        return len(results)

    def _contact(self, endpoint: str, error: str) -> None:
        entry = self.health.setdefault(endpoint, {"last_contact": "", "error": ""})
        entry["error"] = error
        if not error:
            entry["last_contact"] = j.now()

    def report_health(self) -> None:
        """Write what this process knows of its endpoints to the journal, for the console."""
        for name in self.outbound:
            self.health.setdefault(name, {"last_contact": "", "error": ""})
        if self.owner and self.health:
            with self.journal.transaction():
                self.journal.report_endpoints(self.owner, self.health)

    def _settle(self, delivery: j.PendingDelivery, result: Result) -> str | None:
        """Record one delivery's outcome; returns the document id when a routed copy arrived."""
        error = result.error
        self._contact(delivery.endpoint, error or "")
        log = self.log.bind(document_id=delivery.document_id, delivery_id=delivery.delivery_id,
                            endpoint=delivery.endpoint, message_type=delivery.message_type,
                            sender=delivery.sender, route=delivery.route or None, kind=delivery.kind,
                            ms=round(result.seconds * 1000, 3))
        kind = {j.ROUTED_COPY: "DELIVERED", j.HUB_DOCUMENT: "DECISION_DELIVERED"}.get(delivery.kind, "ANSWERED")
        queued_at = self._queued_at.pop(delivery.delivery_id, None) if error is None else None
        if queued_at is not None and self.latency is not None:
            self.latency.observe(delivery.endpoint, time.monotonic() - queued_at)
        if error is None:
            self.journal.settle_delivery(delivery.delivery_id, j.SENT)
            self.journal.append(delivery.document_id, kind, endpoint=delivery.endpoint, route=delivery.route,
                                detail={"delivery_id": delivery.delivery_id, "name": delivery.name})
            log.info(f"delivery.{kind.lower()}", name=delivery.name)
            # the copy's own type (a map may change it) leads its file name: "{type}_{document id}.xml"
            owed = (self._owed(delivery.route, delivery.endpoint, delivery.name.split("_", 1)[0])
                    if delivery.kind == j.ROUTED_COPY else ())
            if owed:
                self.journal.start_expectations(delivery.document_id, delivery.endpoint, owed)
            return delivery.document_id if delivery.kind == j.ROUTED_COPY else None
        attempts = delivery.attempts + 1
        policy = self.context.endpoints[delivery.endpoint].retry if delivery.endpoint in self.context.endpoints \
            else RetryPolicy()
        if attempts >= policy.max_attempts:
            self.journal.settle_delivery(delivery.delivery_id, j.DEAD, error)
            self.journal.append(delivery.document_id, "DEAD", endpoint=delivery.endpoint, route=delivery.route,
                                reason=error, detail={"delivery_id": delivery.delivery_id, "attempts": attempts})
            log.error("delivery.dead", error=error, attempts=attempts)
            return None
        delay = policy.delay(attempts)
        self.journal.retry_delivery(delivery.delivery_id, error, delay)
        self.journal.append(delivery.document_id, "DELIVERY_FAILED", endpoint=delivery.endpoint,
                            route=delivery.route, reason=error,
                            detail={"delivery_id": delivery.delivery_id, "attempts": attempts,
                                    "retry_in_s": round(delay, 1)})
        log.warning("delivery.failed", error=error, attempts=attempts, retry_in_s=round(delay, 1))
        return None

    # -- running -------------------------------------------------------------

    def start(self) -> None:
        self.deliverer.start()
        if self.owner and self._keeper is None:
            self._keeper = self.journal.claim_keeper(self.owner, self.lease)
            if self._keeper is not None:
                self._keeper.start()
        self.submit_due(force=True)

    def stop(self) -> None:
        """Finish and record every delivery already handed to a worker."""
        self.deliverer.stop()
        self.settle_finished()
        if self._keeper is not None:
            self._keeper.stop()
            self._keeper = None
        logs.flush()

    def close(self, keep: tuple = ()) -> None:
        """Stop the worker threads and close every adapter and the journal, except what ``keep``
        holds (a reload keeps the journal and the data folder's lock for the engine that follows)."""
        self.stop()
        self.deliverer.close()  # outbound adapters are closed by their own threads
        for resource in self.resources:
            if any(resource is kept for kept in keep):
                continue
            try:
                resource.close()
            except Exception as exc:  # noqa: BLE001 - close everything else regardless
                self.log.error("endpoint.close_failed", error=f"{type(exc).__name__}: {exc}")
        if not any(self.journal is kept for kept in keep):
            self.journal.close()

    def run(self, once: bool = False, poll_interval: float = 1.0, stop=None) -> None:
        """Poll until stopped; with ``once``, until nothing is waiting and nothing is being sent."""
        self.start()
        try:
            while stop is None or not stop.is_set():
                done = self.poll()
                if once and done == 0 and not self.deliverer.busy and self.submit_due(force=True) == 0:
                    return
                if done == 0:
                    # Sleep until a delivery finishes or it is time to look at the sources again.
                    self.settle_finished(wait=poll_interval if not once else 0.05)
        finally:
            self.stop()
