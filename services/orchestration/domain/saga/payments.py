"""The authorize step, and the money after it: the payment provider's answers (authorisation,
captures, voids, refunds), a new payment method, refund requests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import uuid5

from services.orchestration.domain import events as ev
from services.orchestration.domain.errors import PaymentNotNeeded
from services.orchestration.domain.payments import Kind, PaymentOperation, ProviderResult
from services.orchestration.domain.saga.core import SagaCore
from services.orchestration.domain.saga.describe import span_text
from services.orchestration.domain.saga.state import DeclinePolicy, HoldReason, SagaState


class PaymentSteps(SagaCore):
    """The money: authorisation, captures, voids and refunds as the provider answers them."""

    def _authorize(self, now: datetime) -> bool:
        """The authorize step's action: the order's total is authorised once, before any unit
        is handed to a location (a payment operation the worker runs); the saga waits for
        the provider's answer. Nothing to authorise: the next step follows at once."""
        left = bool(self.held) or self._units(self.unrouted) > 0
        if self.payment.status == "none" and self.order.grand_total > 0 and left:
            self.payment.status = "pending"
            self._queue(Kind.AUTHORIZE, self.order.grand_total, now)
            self._enter(SagaState.AUTHORIZING, now)
            return True
        return self.payment.status == "pending"

    def payment_answered(self, op: PaymentOperation, result: ProviderResult, now: datetime) -> None:
        self.payment.pending -= 1
        money: dict[str, Any] = {
            "order_id": self.key,
            "payment_id": str(op.id),
            "amount": op.amount,
            "currency": op.currency,
        }
        if op.kind is Kind.AUTHORIZE:
            self._authorized(op, result, money, now)
        elif op.kind is Kind.CAPTURE:
            if result.approved:
                self.payment.captured += op.amount
                self.events.append(
                    ev.PaymentCaptured(
                        **money,
                        provider_reference=result.reference,
                        shipment_id=op.shipment_id,
                        captured_at=now,
                    )
                )
                self._step("payment_captured", f"{op.amount} {op.currency}", now)
            else:
                self._step("capture_failed", result.reason, now)
        elif op.kind is Kind.VOID:
            self.payment.voided += op.amount
            self.events.append(ev.PaymentVoided(**money, voided_at=now))
            self._step("payment_voided", f"{op.amount} {op.currency}", now)
        elif result.approved:
            self.payment.refunded += op.amount
            self.events.append(
                ev.PaymentRefunded(
                    **money,
                    refund_id=op.refund_id or "",
                    lines=tuple(ev.LineQuantity(line_id=i, quantity=n) for i, n in op.lines),
                    refunded_at=now,
                )
            )
            self._step("payment_refunded", f"{op.amount} {op.currency}", now)
        else:
            self.payment.refund_queued -= op.amount
            self.events.append(
                ev.PaymentRefundFailed(
                    **money, refund_id=op.refund_id or "", reason=result.reason, failed_at=now
                )
            )
            self._step("refund_failed", result.reason, now)
        self.check_completion(now)

    def _authorized(
        self,
        op: PaymentOperation,
        result: ProviderResult,
        money: dict[str, Any],
        now: datetime,
    ) -> None:
        policy = self.policy.on_decline
        if result.approved:
            self.payment.status = "authorized"
            self.payment.authorized = op.amount
            self.payment.authorization = result.reference
            self.events.append(
                ev.PaymentAuthorized(
                    **money, provider_reference=result.reference, authorized_at=now
                )
            )
            self._step("payment_authorized", f"{op.amount} {op.currency}", now)
            if self.state is SagaState.AUTHORIZING:
                self._advance(now)
            return
        self.payment.status = "declined"
        self.events.append(
            ev.PaymentDeclined(
                **money,
                code=result.code,
                reason=result.reason,
                resolution=policy.value,
                declined_at=now,
            )
        )
        self._step("payment_declined", f"{result.code}: {result.reason}", now)
        nothing_left = all(
            self.cancelled.get(ln.line_id, 0) >= ln.quantity for ln in self.order.lines
        )
        if policy is DeclinePolicy.CANCEL or nothing_left:
            self._release_held(lambda h: True, "released", now)
            self.unrouted = {}
            self.hold = None
            self._enter(SagaState.CANCELLED, now)
        else:
            # The hold releases the stock and keeps the units to plan again on its release.
            self._hold(HoldReason.PAYMENT_DECLINED, f"payment declined ({result.code})", now)
            if self.hold is not None and self.hold.reason is HoldReason.PAYMENT_DECLINED:
                # Until a new payment method comes (new_payment_method) or it is cancelled.
                self.deadline_at = now + self.policy.payment_recovery

    def new_payment_method(self, token: str, now: datetime) -> None:
        """The customer's new payment method for an order held for a declined payment: the
        order is reserved again and authorised with it. 409 for any other order."""
        hold = self.hold
        if hold is None or hold.reason is not HoldReason.PAYMENT_DECLINED:
            raise PaymentNotNeeded(
                f"the order is {self.state.value} and its payment {self.payment.status}: "
                "only an order held for a declined payment takes a new payment method"
            )
        self.order = self.order.with_payment_token(token)
        self._step("payment_method_changed", "a new payment method", now)
        self.release("a new payment method", now)

    def _recovery_overdue(self, now: datetime) -> None:
        """The on-hold step's deadline: only a hold for a declined payment has one."""
        if self.hold is not None and self.hold.reason is HoldReason.PAYMENT_DECLINED:
            self.payment_recovery_expired(now)

    def payment_recovery_expired(self, now: datetime) -> None:
        """No new payment method came in time: the order stops here (its stock went with the
        hold) and order-capture cancels it."""
        if self.hold is None:
            return
        reason = f"no new payment method within {span_text(self.policy.payment_recovery)}"
        hold = self._stop_held("payment_recovery_expired", reason, now)
        self.events.append(
            ev.PaymentRecoveryExpired(
                order_id=self.key, hold_id=hold.id, reason=reason, expired_at=now
            )
        )

    def request_refund(
        self, refund_id: str, amount: Decimal, lines: Sequence[tuple[str, int]], now: datetime
    ) -> None:
        if refund_id in self.payment.refund_ids:
            return  # the same request again: paid (or refused) once
        self.payment.refund_ids.append(refund_id)
        refundable = self.payment.captured - self.payment.refund_queued
        if amount > refundable:
            self.events.append(
                ev.PaymentRefundFailed(
                    order_id=self.key,
                    payment_id=str(uuid5(self.order_id, f"refund-{refund_id}")),
                    amount=amount,
                    currency=self.order.currency,
                    refund_id=refund_id,
                    reason=f"exceeds the refundable {refundable} {self.order.currency}",
                    failed_at=now,
                )
            )
            self._step("refund_refused", f"{amount} > refundable {refundable}", now)
            return
        self.payment.refund_queued += amount
        self._queue(Kind.REFUND, amount, now, refund_id=refund_id, lines=tuple(lines))
