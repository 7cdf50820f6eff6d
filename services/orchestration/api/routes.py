"""Thin HTTP endpoints of orchestration."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from libs.http.deps import ReadSessionDep
from libs.http.problems import problem_responses
from services.orchestration.adapters import queries
from services.orchestration.api.schemas import SagaRead
from services.orchestration.domain.errors import SagaNotFound

router = APIRouter(tags=["sagas"])


@router.get(
    "/sagas/{order_id}", summary="The saga of one order", responses=problem_responses(404, 503)
)
async def get(order_id: UUID, session: ReadSessionDep) -> SagaRead:
    """The order's saga state and every step it took, with times."""
    saga = await queries.saga_of(session, order_id)
    if saga is None:
        raise SagaNotFound(f"no saga for order {order_id}")
    return saga
