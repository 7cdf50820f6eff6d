"""The exchange worker's claims against the real database: a pending exchange one process is
placing is not taken by another until the claim's lease lapses, or the claim is given up.

The exchanges here were last changed in 2001, earlier than any other the test database may
hold, so a claim of as many as there are takes exactly these.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import delete, insert

from libs.runtime import ServiceContainer
from services.returns.adapters.repository import ReturnRepository
from services.returns.adapters.tables import return_request
from tests.returns.integration.conftest import delivered_order

T0 = datetime(2001, 1, 1, tzinfo=UTC)
LEASE = timedelta(seconds=30)


@pytest.fixture
async def pending(container: ServiceContainer) -> AsyncIterator[list[UUID]]:
    """Four returns of one order, each with an exchange waiting to be placed, oldest first."""
    order = await delivered_order(container)
    ids = [uuid.uuid4() for _ in range(4)]
    async with container.session_factory.begin() as session:
        await session.execute(
            insert(return_request),
            [
                {
                    "id": return_id,
                    "rma_number": f"RMA-T{uuid.uuid4().hex[:10].upper()}",
                    "order_id": UUID(order["id"]),
                    "status": "closed",
                    "method": "mail",
                    "resolution": "exchange",
                    "exchange_status": "pending",
                    "created_at": T0,
                    "updated_at": T0 + timedelta(seconds=i),
                    "version": 1,
                    "data": {},
                }
                for i, return_id in enumerate(ids)
            ],
        )
    yield ids
    async with container.session_factory.begin() as session:
        await session.execute(delete(return_request).where(return_request.c.id.in_(ids)))


async def claim(container: ServiceContainer, at: datetime, limit: int) -> list[UUID]:
    async with container.session_factory.begin() as session:
        return await ReturnRepository(session).claim_pending_exchanges(at, limit, lease=LEASE)


class TestExchangeClaims:
    async def test_concurrent_claims_take_disjoint_exchanges(
        self, container: ServiceContainer, pending: list[UUID]
    ) -> None:
        async with (
            container.session_factory.begin() as first,
            container.session_factory.begin() as second,
        ):
            # The first claim is not committed yet: its rows are locked, and skipped.
            taken = await ReturnRepository(first).claim_pending_exchanges(T0, 2, lease=LEASE)
            rest = await ReturnRepository(second).claim_pending_exchanges(T0, 2, lease=LEASE)

        assert set(taken) == set(pending[:2])
        assert set(rest) == set(pending[2:])

    async def test_a_claimed_exchange_is_taken_again_once_its_lease_lapses(
        self, container: ServiceContainer, pending: list[UUID]
    ) -> None:
        assert set(await claim(container, T0, 4)) == set(pending)

        later = await claim(container, T0 + LEASE - timedelta(seconds=1), 100)
        assert not set(later) & set(pending)
        # The process that claimed them died: another takes them once the lease has lapsed.
        assert set(pending) <= set(await claim(container, T0 + LEASE, 100))

    async def test_a_released_exchange_is_free_at_once(
        self, container: ServiceContainer, pending: list[UUID]
    ) -> None:
        assert set(await claim(container, T0, 4)) == set(pending)
        async with container.session_factory.begin() as session:
            await ReturnRepository(session).release_exchange(pending[0])

        again = await claim(container, T0, 4)
        assert pending[0] in again
        assert not set(pending[1:]) & set(again)
