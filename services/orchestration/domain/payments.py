"""The payment port: what orchestration asks of a payment provider, and the money rules.

A real provider (Adyen, Stripe...) plugs in behind `PaymentProvider`; the built-in simulated
one lets the whole flow run locally. Every call carries the operation's idempotency key, so
a call retried after a timeout is answered with the first outcome, never charged twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol
from uuid import UUID


class Kind(StrEnum):
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"


class OpStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ProviderTimeout(Exception):
    """No answer in time: the outcome is unknown, so the same call is retried with its key."""


@dataclass(frozen=True)
class ProviderResult:
    approved: bool
    reference: str = ""
    code: str = "approved"  # declined | insufficient_funds | exceeds_authorization ...
    reason: str = ""


class PaymentProvider(Protocol):
    async def authorize(
        self, *, key: str, token: str, amount: Decimal, currency: str
    ) -> ProviderResult: ...

    async def capture(
        self, *, key: str, authorization: str, amount: Decimal, currency: str
    ) -> ProviderResult: ...

    async def void(
        self, *, key: str, authorization: str, amount: Decimal, currency: str
    ) -> ProviderResult: ...

    async def refund(
        self, *, key: str, authorization: str, amount: Decimal, currency: str
    ) -> ProviderResult: ...


@dataclass
class PaymentOperation:
    """One call to the provider, queued in the saga's transaction and run by the worker."""

    id: UUID
    order_id: UUID
    kind: Kind
    amount: Decimal
    currency: str
    created_at: datetime
    next_attempt_at: datetime
    status: OpStatus = OpStatus.PENDING
    attempts: int = 0
    shipment_id: str | None = None
    refund_id: str | None = None
    lines: tuple[tuple[str, int], ...] = ()  # (line id, units) a refund is for
    code: str | None = None
    reason: str | None = None
    reference: str | None = None
    completed_at: datetime | None = None

    @property
    def idempotency_key(self) -> str:
        return f"{self.kind.value}:{self.id}"


def retry_delay_s(attempts: int, *, base_s: float = 0.5, cap_s: float = 60.0) -> float:
    """Exponential backoff for provider timeouts: 0.5 s, 1 s, 2 s ... at most a minute."""
    return float(min(cap_s, base_s * 2 ** max(attempts - 1, 0)))
