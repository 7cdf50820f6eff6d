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
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.clock import Clock
from services.orchestration.adapters.tables import simulated_payment as book
from services.orchestration.domain.payments import Kind, ProviderResult, ProviderTimeout

DECLINE = "tok_decline"
INSUFFICIENT_FUNDS = "tok_insufficient_funds"
TIMEOUT = "tok_timeout"
REFUND_FAIL = "tok_refund_fail"
_ANSWER = (book.c.approved, book.c.reference, book.c.code, book.c.reason)


class SimulatedPaymentProvider:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = session_factory
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
        async with self._sessions.begin() as s:
            prior = await _asked_again(s, key)
        if prior is not None:
            return prior
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
        async with self._sessions() as s, s.begin():
            booked = await s.execute(
                pg_insert(book)
                .values(
                    idempotency_key=key,
                    kind=kind.value,
                    # An authorisation row remembers its card token; the others their authorisation.
                    authorization=link,
                    amount=amount,
                    currency=currency,
                    approved=verdict.approved,
                    code=verdict.code,
                    reason=verdict.reason,
                    reference=verdict.reference,
                    created_at=self._clock.now(),
                )
                .on_conflict_do_update(
                    index_elements=[book.c.idempotency_key],
                    set_={"requests": book.c.requests + 1},
                )
                .returning(book.c.requests, *_ANSWER)
            )
            row = booked.one()
            if row.requests == 1:
                return verdict, True
            return ProviderResult(row.approved, row.reference, row.code, row.reason), False


async def _asked_again(s: AsyncSession, key: str) -> ProviderResult | None:
    """The first answer to a key asked before (counting this request); None if it is new."""
    row = (
        await s.execute(
            update(book)
            .where(book.c.idempotency_key == key)
            .values(requests=book.c.requests + 1)
            .returning(*_ANSWER)
        )
    ).one_or_none()
    if row is None:
        return None
    return ProviderResult(row.approved, row.reference, row.code, row.reason)
