"""Manual review: the rules (versioned; reading needs orders:read, changing them admin), and
approving or rejecting an order held for review (orders:write, narrowed to the caller's
channels like every order action)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Response

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep
from libs.http.etag import OptionalIfMatchDep, etag_of, optional_version
from libs.http.problems import problem_responses
from services.orchestration.adapters import review_rules
from services.orchestration.api.routes.sagas import act
from services.orchestration.api.schemas.review import (
    ReviewApproveBody,
    ReviewRejectBody,
    ReviewRulesBody,
    ReviewRulesRead,
)
from services.orchestration.api.schemas.sagas import SagaRead
from services.orchestration.domain import commands

router = APIRouter(tags=["review"])
Writer = Annotated[Principal, requires(Scope.ORDERS_WRITE)]
DECISION_ERRORS = problem_responses(404, 409, 422, 503)


async def _rules_read(session: ReadSessionDep, response: Response) -> ReviewRulesRead:
    rules, created_at = await review_rules.current(session)
    response.headers["ETag"] = etag_of(rules.version)
    return ReviewRulesRead(
        **review_rules.to_dict(rules), version=rules.version, created_at=created_at
    )


@router.get(
    "/review-rules",
    summary="The review rules in force",
    responses=problem_responses(503),
    dependencies=[requires(Scope.ORDERS_READ)],
)
async def get_review_rules(session: ReadSessionDep, response: Response) -> ReviewRulesRead:
    """Which placed orders are held `review` before anything is reserved or charged."""
    return await _rules_read(session, response)


@router.put(
    "/review-rules",
    summary="Put a new version of the review rules",
    responses=problem_responses(412, 422, 503),
    dependencies=[requires(Scope.ADMIN)],
)
async def put_review_rules(
    body: ReviewRulesBody,
    bus: BusDep,
    session: ReadSessionDep,
    response: Response,
    if_match: OptionalIfMatchDep = None,
) -> ReviewRulesRead:
    """Every PUT makes a new version, for the orders placed from then on. With If-Match, a
    version that moved on meanwhile is 412."""
    expected = optional_version(if_match)
    await bus.handle(
        commands.PutReviewRules(body=body.model_dump(mode="json"), expected_version=expected)
    )
    return await _rules_read(session, response)


@router.post(
    "/orders/{order_id}/approve",
    summary="Approve an order held for review",
    responses=DECISION_ERRORS,
)
async def approve(
    order_id: UUID,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    body: ReviewApproveBody | None = None,
    idempotency_key: IdempotencyKeyDep = None,
) -> SagaRead:
    """The hold ends (`order_hold_released`) and the order is routed, reserved and charged.
    409 `not_in_review` for an order that is not held for review."""
    return await act(
        order_id,
        commands.OrderAction.APPROVE,
        body.note if body else "",
        bus=bus,
        session=session,
        caller=caller,
        idempotency_key=idempotency_key,
    )


@router.post(
    "/orders/{order_id}/reject",
    summary="Reject an order held for review",
    responses=DECISION_ERRORS,
)
async def reject(
    order_id: UUID,
    body: ReviewRejectBody,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    idempotency_key: IdempotencyKeyDep = None,
) -> SagaRead:
    """The order stops (`order_rejected`, with the reason) and order-capture cancels it;
    nothing was reserved or charged. 409 `not_in_review` for an order that is not held for
    review."""
    return await act(
        order_id,
        commands.OrderAction.REJECT,
        body.reason,
        bus=bus,
        session=session,
        caller=caller,
        idempotency_key=idempotency_key,
    )
