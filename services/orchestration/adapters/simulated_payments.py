"""The built-in simulated payment provider: the whole flow runs locally without a PSP.

Deterministic test tokens choose the outcome:
- `tok_decline` -> declined; `tok_insufficient_funds` -> insufficient_funds;
- `tok_timeout` -> the authorisation succeeds but its answer is lost (ProviderTimeout) the
  first time; asked again with the same idempotency key it answers with that success, so the
  customer is charged once;
- `tok_refund_fail` -> refunds are refused; anything else is approved.
It keeps its books in its own table, like a real provider on its side: one row per
idempotency key, with how often the key was asked, and never more captured than authorised
or refunded than captured.

Each booking is one statement in autocommit on the service's plain connection pool: a
payment call per order is on the order path, and a session's transaction around one
statement cost more than the statement.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.clock import Clock
from libs.db.pool import RawPool
from services.orchestration.adapters.tables import simulated_payment as book
from services.orchestration.domain.payments import Kind, ProviderResult, ProviderTimeout

DECLINE = "tok_decline"
INSUFFICIENT_FUNDS = "tok_insufficient_funds"
TIMEOUT = "tok_timeout"
REFUND_FAIL = "tok_refund_fail"

# A key seen before keeps its first verdict and counts one more request.
_BOOK = """
    INSERT INTO simulated_payment (idempotency_key, kind, "authorization", amount, currency,
        approved, code, reason, reference, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (idempotency_key) DO UPDATE SET requests = simulated_payment.requests + 1
    RETURNING requests, approved, reference, code, reason
"""
_ASKED_AGAIN = """
    UPDATE simulated_payment SET requests = requests + 1 WHERE idempotency_key = $1
    RETURNING approved, reference, code, reason
"""


class SimulatedPaymentProvider:
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], pool: RawPool, clock: Clock
    ) -> None:
        self._sessions = session_factory
        self._pool = pool
        self._clock = clock

    async def authorize(
        self, *, key: str, token: str, amount: Decimal, currency: str
    ) -> ProviderResult:
        if token == DECLINE:
            verdict = ProviderResult(False, code="declined", reason="the card issuer declined")
        elif token == INSUFFICIENT_FUNDS:
            verdict = ProviderResult(False, code="insufficient_funds", reason="not enough funds")
        else:
            verdict = ProviderResult(True, reference=f"sim_auth_{key.rsplit(':', 1)[-1]}")
        result, first = await self._book(key, Kind.AUTHORIZE, token, amount, currency, verdict)
        if token == TIMEOUT and first:
            raise ProviderTimeout("simulated: authorised, but the answer never arrived")
        return result

    async def capture(
        self, *, key: str, authorization: str, amount: Decimal, currency: str
    ) -> ProviderResult:
        return await self._against(key, Kind.CAPTURE, authorization, amount, currency)

    async def void(
        self, *, key: str, authorization: str, amount: Decimal, currency: str
    ) -> ProviderResult:
        return await self._against(key, Kind.VOID, authorization, amount, currency)

    async def refund(
        self, *, key: str, authorization: str, amount: Decimal, currency: str
    ) -> ProviderResult:
        return await self._against(key, Kind.REFUND, authorization, amount, currency)

    async def _against(
        self, key: str, kind: Kind, authorization: str, amount: Decimal, currency: str
    ) -> ProviderResult:
        """Capture, void or refund against an authorisation, within what it still allows."""
        async with self._pool.connection() as connection:
            prior = await connection.fetchrow(_ASKED_AGAIN, key)
        if prior is not None:
            return ProviderResult(
                prior["approved"], prior["reference"], prior["code"], prior["reason"]
            )
        async with self._sessions() as s:
            token = await s.scalar(
                select(book.c.authorization).where(book.c.reference == authorization)
            )
            limit = await self._room(s, kind, authorization)
        if token == REFUND_FAIL and kind is Kind.REFUND:
            verdict = ProviderResult(
                False, code="refund_refused", reason="the card refuses refunds"
            )
        elif amount > limit:
            verdict = ProviderResult(
                False,
                code=f"exceeds_{'captured' if kind is Kind.REFUND else 'authorized'}",
                reason=f"{amount} is more than the {limit} left",
            )
        else:
            verdict = ProviderResult(True, reference=f"sim_{kind.value}_{key.rsplit(':', 1)[-1]}")
        result, _ = await self._book(key, kind, authorization, amount, currency, verdict)
        return result

    async def _room(self, s: AsyncSession, kind: Kind, authorization: str) -> Decimal:
        async def total(k: Kind) -> Decimal:
            value = await s.scalar(
                select(func.coalesce(func.sum(book.c.amount), 0)).where(
                    book.c.authorization == authorization,
                    book.c.kind == k.value,
                    book.c.approved,
                )
            )
            return Decimal(value or 0)

        authorized = await s.scalar(
            select(book.c.amount).where(book.c.reference == authorization, book.c.approved)
        )
        if kind is Kind.REFUND:
            return await total(Kind.CAPTURE) - await total(Kind.REFUND)
        spent = await total(Kind.CAPTURE) + await total(Kind.VOID)
        return Decimal(authorized or 0) - spent

    async def _book(
        self,
        key: str,
        kind: Kind,
        link: str,
        amount: Decimal,
        currency: str,
        verdict: ProviderResult,
    ) -> tuple[ProviderResult, bool]:
        """Record the verdict under its key; a key seen before keeps its first verdict (and
        counts one more request)."""
        async with self._pool.connection() as connection:
            row = await connection.fetchrow(
                _BOOK,
                key,
                kind.value,
                # An authorisation row remembers its card token; the others their authorisation.
                link,
                amount,
                currency,
                verdict.approved,
                verdict.code,
                verdict.reason,
                verdict.reference,
                self._clock.now(),
            )
        if row["requests"] == 1:
            return verdict, True
        return ProviderResult(row["approved"], row["reference"], row["code"], row["reason"]), False
