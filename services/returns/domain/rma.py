"""A return (RMA): requested → approved | rejected → in_transit → (partially) received →
refunded → closed, with a timeline.

Money follows the policy's moment (approval, drop-off or receipt): at that moment the units
are settled by their resolution: a refund requested from orchestration (and confirmed by its
answer), store credit, or an exchange whose replacement order is placed through
order-capture. Every step is idempotent on its own identifier (receipt id, refund id), so a
redelivered event or a repeated request changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypedDict
from uuid import UUID, uuid5

from libs.money import round_to_currency
from services.returns.domain import events as ev
from services.returns.domain.errors import (
    ActionNotAllowed,
    ReceiptExceedsReturn,
    UnknownReturnLine,
)
from services.returns.domain.money import ZERO, OrderCredits, Quote, quote
from services.returns.domain.order import KnownOrder
from services.returns.domain.parts import (
    RECEIVABLE,
    Exchange,
    Label,
    Method,
    Receipt,
    ReceiptLine,
    Refund,
    RefundStatus,
    Resolution,
    ResolutionKind,
    ReturnLine,
    Status,
    TimelineEntry,
)
from services.returns.domain.policy import (
    Condition,
    Payer,
    RefundTiming,
    ReturnPolicy,
)


class _Ref(TypedDict):
    """What names the return in most of its events."""

    order_id: UUID
    return_id: UUID
    rma_number: str


@dataclass
class ReturnRequest:
    id: UUID
    rma_number: str
    order_id: UUID
    currency: str
    status: Status
    method: Method
    resolution: Resolution
    lines: list[ReturnLine]
    policy: ReturnPolicy
    created_at: datetime
    updated_at: datetime
    location_code: str | None = None  # in-store returns: where the customer brings them
    label: Label | None = None
    receipts: list[Receipt] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    exchange: Exchange | None = None
    rejection_reason: str | None = None
    timeline: list[TimelineEntry] = field(default_factory=list)
    version: int = 0
    events: list[ev.ReturnEvent] = field(default_factory=list)  # new, for the outbox

    # --- the customer's or agent's steps -------------------------------------------------

    def announce_request(self, needs_review: bool, now: datetime) -> None:
        self.events.append(
            ev.ReturnRequested(
                **self._ref(),
                method=self.method,
                resolution=self.resolution.kind,
                lines=tuple(
                    ev.RequestedLine(
                        line_id=ln.line_id, sku=ln.sku, quantity=ln.quantity, reason=ln.reason
                    )
                    for ln in self.lines
                ),
                needs_review=needs_review,
                requested_at=now,
            )
        )
        self._note("requested", f"{self.units} units, {self.resolution.kind.value}", now)

    def approve(self, order: KnownOrder, credits: OrderCredits, now: datetime) -> None:
        if self.status is not Status.REQUESTED:
            self._refuse("approve", {Status.APPROVED, *RECEIVABLE})
            return
        if self.method is Method.MAIL:
            self.label = Label(
                self.policy.return_carrier,
                self.policy.return_service,
                tracking_number(self.policy.return_carrier, self.id),
                self.policy.payer(frozenset(ln.reason for ln in self.lines)),
            )
        self._move(Status.APPROVED, "approved", self._label_note(), now)
        self.events.append(
            ev.ReturnApproved(
                **self._ref(),
                carrier=self.label.carrier if self.label else None,
                tracking_number=self.label.tracking_number if self.label else None,
                approved_at=now,
            )
        )
        if self.policy.refund_timing is RefundTiming.ON_APPROVAL:
            self._settle(self._unsettled(), order, credits, now)

    def reject(self, reason: str, now: datetime) -> None:
        if self.status is not Status.REQUESTED:
            self._refuse("reject", {Status.REJECTED})
            return
        self.rejection_reason = reason
        self._move(Status.REJECTED, "rejected", reason, now)
        self.events.append(ev.ReturnRejected(**self._ref(), reason=reason, rejected_at=now))

    def drop_off(self, order: KnownOrder, credits: OrderCredits, now: datetime) -> None:
        """The parcel was handed to the carrier (or the goods to the store)."""
        if self.status is not Status.APPROVED:
            # A late carrier scan after the goods arrived is a repeat, not a mistake.
            late = {Status.PARTIALLY_RECEIVED, Status.RECEIVED, Status.REFUNDED, Status.CLOSED}
            self._refuse("drop_off", {Status.IN_TRANSIT, *late})
            return
        self._move(Status.IN_TRANSIT, "in_transit", "dropped off", now)
        if self.policy.refund_timing is RefundTiming.ON_DROP_OFF:
            self._settle(self._unsettled(), order, credits, now)

    def receive(
        self,
        receipt_id: UUID,
        location_code: str,
        lines: Sequence[tuple[UUID, int, Condition]],
        order: KnownOrder,
        credits: OrderCredits,
        now: datetime,
    ) -> Receipt:
        """Inspected units arrived; each goes where its condition sends it."""
        done = next((r for r in self.receipts if r.id == receipt_id), None)
        if done is not None:
            return done  # the same receipt again
        if self.status in (Status.REQUESTED, Status.REJECTED):
            self._refuse("receive", set())
        self._check_receipt(lines)  # everything back already: "0 outstanding" says why
        if self.status not in RECEIVABLE:
            self._refuse("receive", set())
        receipt = Receipt(
            receipt_id,
            location_code,
            tuple(
                ReceiptLine(line_id, n, condition, self.policy.disposition_of(condition))
                for line_id, n, condition in lines
            ),
            now,
        )
        for rl in receipt.lines:
            line = self._line(rl.line_id)
            line.received[rl.condition] = line.received.get(rl.condition, 0) + rl.quantity
        self.receipts.append(receipt)
        self.events.append(
            ev.ReturnReceived(
                order_id=self.order_id,
                return_id=self.id,
                receipt_id=receipt_id,
                location_code=location_code,
                lines=tuple(
                    ev.ReceivedLine(
                        line_id=rl.line_id,
                        quantity=rl.quantity,
                        condition=rl.condition,
                        sku=self._line(rl.line_id).sku,
                        disposition=rl.disposition,
                    )
                    for rl in receipt.lines
                ),
                received_at=now,
            )
        )
        full = all(ln.received_units >= ln.quantity for ln in self.lines)
        skipped_drop_off = self.status is Status.APPROVED
        what = ", ".join(
            f"{rl.quantity} {rl.condition.value} → {rl.disposition.value}" for rl in receipt.lines
        )
        self._move(
            Status.RECEIVED if full else Status.PARTIALLY_RECEIVED,
            "received",
            f"at {location_code}: {what}",
            now,
        )
        timing = self.policy.refund_timing
        if timing is RefundTiming.ON_DROP_OFF and skipped_drop_off:
            # Brought straight in (or the carrier's scan never came): it was handed over.
            self._settle(self._unsettled(), order, credits, now)
        elif timing is RefundTiming.ON_RECEIPT and self.resolution.kind is ResolutionKind.EXCHANGE:
            if full:  # one replacement order, once everything is back
                self._settle(self._unsettled(), order, credits, now)
        elif timing is RefundTiming.ON_RECEIPT:
            units: dict[UUID, int] = {}
            for rl in receipt.lines:
                units[rl.line_id] = units.get(rl.line_id, 0) + rl.quantity
            self._settle(units, order, credits, now)
        self._maybe_close(now)
        return receipt

    # --- answers from elsewhere ----------------------------------------------------------

    def refund_settled(
        self, refund_id: str, ok: bool, reason: str | None, credits: OrderCredits, now: datetime
    ) -> None:
        refund = next((r for r in self.refunds if r.id == refund_id), None)
        if refund is None or refund.status is not RefundStatus.REQUESTED:
            return  # not ours, or answered before
        refund.settled_at = now
        if ok:
            refund.status = RefundStatus.SUCCEEDED
            self._announce_refund(refund, now)
        else:
            refund.status, refund.reason = RefundStatus.FAILED, reason
            credits.give_back(refund.quote)
            for q in refund.quote.lines:
                self._line(q.line_id).settled -= q.units
            self._note("refund_failed", f"{refund.amount}: {reason}", now)
        self._maybe_close(now)

    def retry_refunds(self, order: KnownOrder, credits: OrderCredits, now: datetime) -> None:
        """Ask again for what failed (a card expired, the provider said no): the units whose
        money is due are settled afresh, an exchange's price difference is asked for again."""
        failed = [r for r in self.refunds if r.status is RefundStatus.FAILED and not r.retried]
        if not failed:
            raise ActionNotAllowed(f"return {self.rma_number} has no failed refund to retry")
        for r in failed:
            r.retried = True
        difference = sum((r.quote.adjustment for r in failed if not r.quote.lines), ZERO)
        if difference > 0:
            retry = Quote((), adjustment=difference)
            credits.take(retry)
            self._refund(retry, "payment", now)
        self._note("refund_retried", f"{len(failed)} failed refund(s)", now)
        self._settle(self._due(), order, credits, now)
        self._maybe_close(now)

    def _due(self) -> dict[UUID, int]:
        """Unsettled units whose money is due now, by the policy's moment."""
        if self.policy.refund_timing is RefundTiming.ON_RECEIPT:
            return {
                ln.line_id: min(ln.received_units, ln.quantity) - ln.settled for ln in self.lines
            }
        if self.status is Status.APPROVED and self.policy.refund_timing is RefundTiming.ON_DROP_OFF:
            return {}
        return self._unsettled()

    def exchange_placed(self, order_id: UUID, now: datetime) -> None:
        if self.exchange is None or self.exchange.status != "pending":
            return
        self.exchange.status, self.exchange.order_id = "placed", order_id
        self._note("exchange_order_placed", f"replacement order {order_id}", now)
        self._maybe_close(now)

    def exchange_failed(self, reason: str, now: datetime) -> None:
        if self.exchange is None or self.exchange.status != "pending":
            return
        self.exchange.status, self.exchange.reason = "failed", reason
        self._note("exchange_failed", reason, now)

    # --- reading -------------------------------------------------------------------------

    @property
    def units(self) -> int:
        return sum(ln.quantity for ln in self.lines)

    @property
    def refunded_amount(self) -> Decimal:
        return sum((r.amount for r in self.refunds if r.status is RefundStatus.SUCCEEDED), ZERO)

    @property
    def is_open(self) -> bool:
        return self.status not in (Status.REJECTED, Status.CLOSED)

    # --- internals -----------------------------------------------------------------------

    def _settle(
        self, units: Mapping[UUID, int], order: KnownOrder, credits: OrderCredits, now: datetime
    ) -> None:
        """Decide the money (or replacement) for these units, by the return's resolution."""
        wanted = {
            line_id: (min(n, self._line(line_id).unsettled), self._line(line_id).reason)
            for line_id, n in units.items()
        }
        wanted = {k: v for k, v in wanted.items() if v[0] > 0}
        if not wanted:
            return
        for line_id, (n, _) in wanted.items():
            self._line(line_id).settled += n
        # A failed refund gave its parcel fee back with the rest: the next one keeps it.
        first = self.exchange is None and all(r.status is RefundStatus.FAILED for r in self.refunds)
        charge = first and self.label is not None and self.label.paid_by is Payer.CUSTOMER
        q = quote(order, credits, self.policy, wanted, charge_return_shipping=charge)
        # The units' value is spent either way: paid back, credited, or put towards a
        # replacement; counting it keeps every later refund under what was paid.
        credits.take(q)
        kind = self.resolution.kind
        if kind is ResolutionKind.EXCHANGE:
            exchange = self._exchange(q, order, now)
            if exchange.difference < 0:  # the replacement is cheaper: the rest goes back
                self._refund(Quote((), adjustment=-exchange.difference), "payment", now)
            return
        method = "store_credit" if kind is ResolutionKind.STORE_CREDIT else "payment"
        self._refund(q, method, now)

    def _refund(self, q: Quote, method: str, now: datetime) -> None:
        refund_id = str(uuid5(self.id, f"refund-{len(self.refunds) + 1}"))
        paid = method == "payment" and q.amount > 0
        status = RefundStatus.REQUESTED if paid else RefundStatus.SUCCEEDED
        refund = Refund(refund_id, method, q, status, now, None if paid else now)
        self.refunds.append(refund)
        if paid:
            self.events.append(
                ev.RefundRequested(
                    order_id=self.order_id,
                    return_id=self.id,
                    refund_id=refund_id,
                    amount=q.amount,
                    currency=self.currency,
                    lines=tuple(
                        ev.RefundLine(line_id=x.line_id, quantity=x.units) for x in q.lines
                    ),
                    requested_at=now,
                )
            )
            self._note("refund_requested", f"{q.amount}", now)
        else:
            self._announce_refund(refund, now)

    def _exchange(self, q: Quote, order: KnownOrder, now: datetime) -> Exchange:
        res = self.resolution
        assert res.replacement_sku is not None  # checked when the return was opened
        units = sum(x.units for x in q.lines)
        price = res.replacement_unit_price
        if price is None:  # the same article in another size or colour: what was paid for it
            returned = order.line(q.lines[0].line_id)
            price = (
                round_to_currency(returned.total / returned.quantity, self.currency)
                if returned is not None
                else ZERO
            )
        self.exchange = Exchange(res.replacement_sku, units, price, q.amount)
        self.events.append(
            ev.ExchangeOrderRequested(
                **self._ref(),
                replacement_sku=res.replacement_sku,
                quantity=units,
                unit_price=price,
                credit=q.amount,
                difference=self.exchange.difference,
                currency=self.currency,
                requested_at=now,
            )
        )
        self._note("exchange_requested", f"{units} x {res.replacement_sku}", now)
        return self.exchange

    def _announce_refund(self, refund: Refund, now: datetime) -> None:
        self.events.append(
            ev.ReturnRefunded(
                **self._ref(),
                refund_id=refund.id,
                method=refund.method,
                amount=refund.amount,
                currency=self.currency,
                lines=tuple(
                    ev.RefundLine(line_id=x.line_id, quantity=x.units) for x in refund.quote.lines
                ),
                refunded_at=now,
            )
        )
        self._note("refunded", f"{refund.amount} ({refund.method})", now)

    def _maybe_close(self, now: datetime) -> None:
        if self.status is not Status.RECEIVED:
            return
        if any(ln.unsettled for ln in self.lines):
            return
        if any(r.open for r in self.refunds):
            return
        if self.exchange is not None and self.exchange.status != "placed":
            return
        self._move(Status.REFUNDED, "refunded", f"{self.refunded_amount} in all", now)
        self._move(Status.CLOSED, "closed", "every unit back and settled", now)
        self.events.append(
            ev.ReturnClosed(
                **self._ref(),
                refunded_amount=self.refunded_amount,
                currency=self.currency,
                closed_at=now,
            )
        )

    def _check_receipt(self, lines: Sequence[tuple[UUID, int, Condition]]) -> None:
        wanted: dict[UUID, int] = {}
        for line_id, n, _ in lines:
            if not any(ln.line_id == line_id for ln in self.lines):
                raise UnknownReturnLine(f"line {line_id} is not part of return {self.rma_number}")
            wanted[line_id] = wanted.get(line_id, 0) + n
        over = [
            f"{line_id}: {n} more, {self._line(line_id).outstanding} outstanding"
            for line_id, n in wanted.items()
            if n > self._line(line_id).outstanding
        ]
        if over:
            raise ReceiptExceedsReturn(
                "more units than the return still expects: " + "; ".join(over)
            )

    def _unsettled(self) -> dict[UUID, int]:
        return {ln.line_id: ln.unsettled for ln in self.lines}

    def _line(self, line_id: UUID) -> ReturnLine:
        return next(ln for ln in self.lines if ln.line_id == line_id)

    def _refuse(self, action: str, already: set[Status]) -> None:
        if self.status in already:
            return  # repeated: it already took effect
        raise ActionNotAllowed(f"cannot {action} a return that is {self.status.value}")

    def _move(self, status: Status, name: str, detail: str, now: datetime) -> None:
        self.status = status
        self._note(name, detail, now)

    def _note(self, name: str, detail: str, now: datetime) -> None:
        self.timeline.append(TimelineEntry(now, name, detail))
        self.updated_at = now

    def _label_note(self) -> str:
        if self.label is None:
            return f"bring it to {self.location_code}"
        return (
            f"{self.label.carrier} {self.label.tracking_number}, paid by {self.label.paid_by.value}"
        )

    def _ref(self) -> _Ref:
        return {"order_id": self.order_id, "return_id": self.id, "rma_number": self.rma_number}


def tracking_number(carrier: str, return_id: UUID) -> str:
    """Deterministic, so a repeated approval names the same parcel. From the id's random
    tail: a UUIDv7 starts with its creation time, shared by returns opened together."""
    digits = str(int(return_id.hex[-12:], 16)).zfill(15)[-12:]
    return f"{carrier.upper()[:3]}R{digits}"
