"""The engine: moves documents from inbound adapters through the pipeline into the outbox.

One poll does two things:

1. For each inbound endpoint, take a batch of waiting documents and, in ONE
   journal transaction (group commit), record each one (RECEIVED, its bytes),
   run the pure pipeline on it and record the outcome: the planned copies
   (outbox rows, PENDING) or the rejection and its error receipt. Only after
   the commit are the sources acknowledged (SentBox) or refused (FailBox).
2. Send what the outbox holds (copies and error receipts), then record in one
   transaction which were delivered. A failed send is retried with
   exponential backoff; after ``max_attempts`` the delivery is DEAD.

A crash anywhere leaves either an unacknowledged source (read again, and
recognised as a duplicate by its bytes) or a PENDING delivery (sent again,
under the same name, so a folder destination is overwritten, not doubled).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from . import journal as j
from . import logs
from .errors import DocumentError, HubError, TransportError
from .journal import Journal
from .message import Inbound, Outgoing, new_id
from .pipeline import Context, Outcome, process
from .receipts import error_receipt, error_receipt_name


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    first_delay: float = 2.0
    max_delay: float = 300.0

    def delay(self, attempts: int) -> float:
        """Exponential backoff with full jitter (after ``attempts`` failures)."""
        ceiling = min(self.max_delay, self.first_delay * 2 ** (attempts - 1))
        return random.uniform(ceiling / 2, ceiling)


@dataclass
class _Decision:
    item: Inbound
    document_id: str
    accepted: bool
    reason: str = ""


class Engine:
    def __init__(self, context: Context, journal: Journal, inbound: dict, outbound: dict,
                 batch_size: int = 100, retry: RetryPolicy = RetryPolicy()):
        self.context = context
        self.journal = journal
        self.inbound = inbound
        self.outbound = outbound
        self.batch_size = batch_size
        self.retry = retry
        self.log = logs.get()

    # -- receiving -----------------------------------------------------------

    def poll(self) -> int:
        """Take in what is waiting on every endpoint, then deliver. Returns how much work was done."""
        done = 0
        for name, adapter in self.inbound.items():
            try:
                batch = adapter.receive(self.batch_size)
            except TransportError as exc:
                self.log.error("endpoint.receive_failed", endpoint=name, error=exc.reason)
                continue
            if batch:
                done += self.take_in(batch)
        done += self.deliver()
        return done

    def take_in(self, batch: list[Inbound]) -> int:
        with self.journal.transaction():
            decisions = [self._record(item) for item in batch]
        for decision in decisions:  # only now, after the commit, settle the sources
            try:
                if decision.accepted:
                    decision.item.acknowledgement.ack()
                else:
                    decision.item.acknowledgement.nack(decision.reason)
            except TransportError as exc:
                # The journal holds it; the source will be read again and recognised as a duplicate.
                self.log.error("source.settle_failed", document_id=decision.document_id,
                               endpoint=decision.item.message.endpoint, error=exc.reason)
        return len(decisions)

    def _record(self, item: Inbound) -> _Decision:
        """Journal one received document and everything the pipeline decided about it."""
        message = item.message
        document_id = new_id()
        log = self.log.bind(document_id=document_id, endpoint=message.endpoint, source_name=message.name)
        digest = self.journal.store_body(message.body)
        self.journal.append(document_id, "RECEIVED", endpoint=message.endpoint,
                            detail={"name": message.name, "sha256": digest, "size": len(message.body)})
        log.info("document.received", size=len(message.body), sha256=digest)
        row = {"document_id": document_id, "endpoint": message.endpoint, "source_name": message.name,
               "digest": digest, "size": len(message.body)}

        earlier = self.journal.find_accepted(endpoint=message.endpoint, digest=digest)
        if earlier:
            return self._duplicate(item, row, {}, earlier, "the same bytes", log)

        try:
            outcome = process(message.body, message.endpoint, message.name, self.context)
        except Exception as exc:  # noqa: BLE001 - a bug must not stop the hub or lose the document
            log.exception("document.internal_error")
            outcome = Outcome(error=HubError(f"internal error: {type(exc).__name__}: {exc}"))

        facts: dict = {}
        business = (outcome.envelope.inner or outcome.envelope) if outcome.envelope else None
        if business is not None:
            facts = {"message_type": business.message_type, "dialect": outcome.kind.dialect if outcome.kind else "",
                     "message_id": business.message_id, "sender": business.sender,
                     "business_id": business.business_id, "keys": business.keys}
            log = log.bind(message_type=business.message_type, sender=business.sender,
                           message_id=business.message_id, business_id=business.business_id)
        if outcome.accepted and business.message_id:
            earlier = self.journal.find_accepted(endpoint=message.endpoint, sender=business.sender,
                                                 message_type=business.message_type,
                                                 message_id=business.message_id)
            if earlier:
                return self._duplicate(item, row, facts, earlier, f"message id {business.message_id}", log)

        for step in outcome.steps:
            self.journal.append(document_id, step.kind, endpoint=step.endpoint, route=step.route, detail=step.detail)
            log.info(f"document.{step.kind.lower()}", route=step.route or None, **step.detail)
        if not outcome.accepted:
            return self._refuse(item, row, facts, outcome, log)

        for copy in outcome.copies:
            delivery_id = new_id()
            name = f"{copy.message_type}_{document_id}.xml"
            copy_digest = digest if copy.body is message.body else self.journal.store_body(copy.body)
            self.journal.add_delivery(delivery_id, document_id, copy.destination.endpoint,
                                      copy.destination.route, copy.destination.map or "",
                                      copy_digest, name, j.ROUTED_COPY)
            self.journal.append(document_id, "QUEUED", endpoint=copy.destination.endpoint,
                                route=copy.destination.route,
                                detail={"delivery_id": delivery_id, "name": name, "sha256": copy_digest})
        self.journal.add_document(**row, state=j.ACCEPTED, **facts)
        log.info("document.accepted", destinations=[c.destination.endpoint for c in outcome.copies],
                 duration_ms=round(outcome.seconds * 1000, 3))
        return _Decision(item, document_id, True)

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
        self.journal.add_document(**row, state=state, reason=error.reason, **facts)
        log_method = log.warning if state == j.REJECTED else log.error
        log_method(f"document.{state.lower()}", code=error.code, reason=error.reason,
                   issues=[str(issue) for issue in error.issues],
                   duration_ms=round(outcome.seconds * 1000, 3))
        # Answer the endpoint it came from, listing every issue.
        receipt = error_receipt(document_id, item.message.name, error, outcome.envelope)
        name = error_receipt_name(document_id, outcome.envelope)
        delivery_id = new_id()
        self.journal.add_delivery(delivery_id, document_id, item.message.endpoint, "", "",
                                  self.journal.store_body(receipt), name, j.ERROR_RECEIPT)
        self.journal.append(document_id, "ANSWER_QUEUED", endpoint=item.message.endpoint,
                            detail={"delivery_id": delivery_id, "name": name})
        return _Decision(item, document_id, False, error.reason)

    # -- delivering ----------------------------------------------------------

    def deliver(self) -> int:
        """Send every due delivery once; record the results in one transaction."""
        pending = self.journal.pending_deliveries(self.batch_size * 4)
        if not pending:
            return 0
        results: list[tuple[j.PendingDelivery, str | None]] = []
        for delivery in pending:
            adapter = self.outbound.get(delivery.endpoint)
            outgoing = Outgoing(
                delivery_id=delivery.delivery_id,
                document_id=delivery.document_id,
                body=self.journal.body(delivery.sha256),
                name=delivery.name,
                headers={"document_id": delivery.document_id, "message_type": delivery.message_type,
                         "message_id": delivery.message_id, "sender": delivery.sender,
                         "delivery_id": delivery.delivery_id},
            )
            try:
                if adapter is None:
                    raise TransportError(delivery.endpoint, "no such endpoint is configured any more")
                adapter.send(outgoing)
                results.append((delivery, None))
            except TransportError as exc:
                results.append((delivery, exc.reason))
        with self.journal.transaction():
            for delivery, error in results:
                self._settle(delivery, error)
        return len(results)

    def _settle(self, delivery: j.PendingDelivery, error: str | None) -> None:
        log = self.log.bind(document_id=delivery.document_id, delivery_id=delivery.delivery_id,
                            endpoint=delivery.endpoint, message_type=delivery.message_type,
                            route=delivery.route or None, kind=delivery.kind)
        kind = "DELIVERED" if delivery.kind == j.ROUTED_COPY else "ANSWERED"
        if error is None:
            self.journal.settle_delivery(delivery.delivery_id, j.SENT)
            self.journal.append(delivery.document_id, kind, endpoint=delivery.endpoint, route=delivery.route,
                                detail={"delivery_id": delivery.delivery_id, "name": delivery.name})
            if delivery.kind == j.ROUTED_COPY:
                self.journal.settle_document_if_done(delivery.document_id)
            log.info(f"delivery.{kind.lower()}", name=delivery.name)
            return
        attempts = delivery.attempts + 1
        if attempts >= self.retry.max_attempts:
            self.journal.settle_delivery(delivery.delivery_id, j.DEAD, error)
            self.journal.append(delivery.document_id, "DEAD", endpoint=delivery.endpoint, route=delivery.route,
                                reason=error, detail={"delivery_id": delivery.delivery_id, "attempts": attempts})
            log.error("delivery.dead", error=error, attempts=attempts)
            return
        delay = self.retry.delay(attempts)
        self.journal.retry_delivery(delivery.delivery_id, error, delay)
        self.journal.append(delivery.document_id, "DELIVERY_FAILED", endpoint=delivery.endpoint,
                            route=delivery.route, reason=error,
                            detail={"delivery_id": delivery.delivery_id, "attempts": attempts,
                                    "retry_in_s": round(delay, 1)})
        log.warning("delivery.failed", error=error, attempts=attempts, retry_in_s=round(delay, 1))

    # -- running -------------------------------------------------------------

    def run(self, once: bool = False, poll_interval: float = 1.0, stop=None) -> None:
        """Poll until stopped; with ``once``, until nothing is waiting."""
        while stop is None or not stop.is_set():
            done = self.poll()
            if once and done == 0:
                return
            if done == 0:
                if stop is not None:
                    stop.wait(poll_interval)
                else:
                    time.sleep(poll_interval)

