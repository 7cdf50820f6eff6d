"""Webhook deliveries: an order's, and by id: read one with every attempt (the ledger), and
send it again.

A caller narrowed to channels reaches only the deliveries of the endpoints it sees (their
channel filter within its channels, looked up narrowed in SQL); any other is answered like a
missing one."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep
from libs.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from libs.http.problems import problem_responses
from services.notifications.adapters import queries
from services.notifications.api.schemas.webhook_endpoints import (
    DeliveryAttemptRead,
    DeliveryPage,
    DeliveryRead,
    DeliveryWithAttemptsRead,
)
from services.notifications.domain import commands
from services.notifications.domain.errors import WebhookDeliveryNotFound

router = APIRouter(tags=["webhook-deliveries"])

# The webhook endpoints' scopes: a delivery is read and sent again as part of its endpoint.
Reader = Annotated[Principal, requires(Scope.WEBHOOKS_READ)]
Writer = Annotated[Principal, requires(Scope.WEBHOOKS_WRITE)]
PATH = "/deliveries"


@router.get(
    PATH,
    summary="List the webhook deliveries made for an order",
    responses=problem_responses(422, 503),
)
async def list_for_order(
    session: ReadSessionDep,
    caller: Reader,
    order_id: Annotated[UUID, Query(description="The order the deliveries' events are about")],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> DeliveryPage:
    """Newest first: every delivery of an event about the order, to every endpoint the caller
    sees, with its state, attempts and the latest answer (`GET /deliveries/{id}` gives every
    attempt). A caller narrowed to channels sees them only when the order is of one of its
    channels and the endpoint's channel filter lies within them; an unknown order, or one the
    caller does not see, has an empty list."""
    page = await queries.list_order_deliveries(
        session, order_id, channels=caller.channels, limit=limit, cursor=cursor
    )
    return DeliveryPage(
        items=[DeliveryRead(**vars(d)) for d in page.items], next_cursor=page.next_cursor
    )


@router.get(
    PATH + "/{delivery_id}",
    summary="Read a webhook delivery and its attempts",
    responses=problem_responses(404, 422, 503),
)
async def get(
    delivery_id: UUID, session: ReadSessionDep, caller: Reader
) -> DeliveryWithAttemptsRead:
    """The delivery (its `webhook_id` is the event's id, sent on every attempt), its state and
    next attempt, and every attempt made: when, the status answered (or null), the latency,
    the error and the start of the answer's body. 404 `webhook_delivery_not_found` for an
    unknown one, or one of an endpoint the caller does not see."""
    return await delivery_read(session, delivery_id, caller.channels)


@router.post(
    PATH + "/{delivery_id}/retry",
    status_code=202,
    summary="Send a webhook delivery again",
    responses=problem_responses(404, 409, 422, 503),
)
async def retry(
    delivery_id: UUID,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    idempotency_key: IdempotencyKeyDep = None,
) -> DeliveryWithAttemptsRead:
    """Due now, whatever its state (a failed or delivered one is pending again, retried for a
    new retry window); its attempts stay in the ledger. Sent with the same `webhook-id`, so a
    receiver that had it can drop the repeat, and after any earlier delivery of its order to
    the endpoint still pending. An attempt being made at that moment decides the state when it
    ends. 409 `webhook_endpoint_disabled` when the endpoint is switched off or disabled."""
    await bus.handle(commands.RetryDelivery(delivery_id, caller.channels, idempotency_key))
    return await delivery_read(session, delivery_id, caller.channels)


async def delivery_read(
    session: ReadSessionDep, delivery_id: UUID, channels: frozenset[str] | None
) -> DeliveryWithAttemptsRead:
    found = await queries.get_delivery(session, delivery_id, channels=channels)
    if found is None:
        raise WebhookDeliveryNotFound(f"no webhook delivery {delivery_id}")
    fields = vars(found) | {
        "attempt_log": [DeliveryAttemptRead(**vars(a)) for a in found.attempt_log]
    }
    return DeliveryWithAttemptsRead(**fields)
