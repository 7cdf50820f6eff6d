"""Customer notifications: the ledger of an order's messages, a resend, and the opt-out.

A caller narrowed to channels sees and changes only the notifications of its channels' orders
(looked up narrowed in SQL); any other is answered like a missing one."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep, fingerprint
from libs.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from libs.http.problems import problem_responses
from services.notifications.adapters import queries
from services.notifications.api.schemas.notifications import (
    NotificationPage,
    NotificationPreferenceRead,
    NotificationPreferenceWrite,
    NotificationRead,
)
from services.notifications.domain.errors import NotificationNotFound
from services.notifications.domain.notification_commands import (
    ResendNotification,
    SetNotificationPreference,
)

router = APIRouter(tags=["notifications"])

Reader = Annotated[Principal, requires(Scope.NOTIFICATIONS_READ)]
Writer = Annotated[Principal, requires(Scope.NOTIFICATIONS_WRITE)]


@router.get(
    "/notifications",
    summary="List customer notifications",
    responses=problem_responses(422, 503),
)
async def list_notifications(
    session: ReadSessionDep,
    caller: Reader,
    order_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> NotificationPage:
    """Newest first: the customer messages an order's events caused (every order's without
    `order_id`), each once per business fact, with its state."""
    page = await queries.list_notifications(
        session, order_id=order_id, channels=caller.channels, limit=limit, cursor=cursor
    )
    return NotificationPage(
        items=[NotificationRead(**vars(n)) for n in page.items], next_cursor=page.next_cursor
    )


@router.post(
    "/notifications/{notification_id}/resend",
    status_code=202,
    summary="Send a customer notification again",
    responses=problem_responses(404, 409, 422, 503),
)
async def resend(
    notification_id: UUID,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    idempotency_key: IdempotencyKeyDep = None,
) -> NotificationRead:
    """The notification pending again (whatever its state), sent by the next round of the
    sending job with the same Message-ID. With the same Idempotency-Key, it is made pending
    once. 409 `notification_opted_out` when the order or its customer opted out."""
    await bus.handle(
        ResendNotification(
            notification_id,
            caller.channels,
            fingerprint({"notification_id": str(notification_id)}),
            idempotency_key,
        )
    )
    found = await queries.get_notification(session, notification_id, channels=caller.channels)
    if found is None:
        raise NotificationNotFound(f"no notification {notification_id}")
    return NotificationRead(**vars(found))


@router.put(
    "/notification-preferences/{order_id}",
    summary="Opt an order (or its customer) out of customer notifications, or in again",
    responses=problem_responses(404, 422, 503),
)
async def put_preferences(
    order_id: UUID, body: NotificationPreferenceWrite, bus: BusDep, caller: Writer
) -> NotificationPreferenceRead:
    """While opted out, the messages the order's events cause are recorded as `suppressed`
    and never sent (pending ones too, when the job comes to them). The order need not have
    been seen yet, unless `whole_customer` is set or the token is narrowed to channels (404
    `order_not_found`)."""
    order_out, customer_out = await bus.handle(
        SetNotificationPreference(order_id, body.opted_out, body.whole_customer, caller.channels)
    )
    return NotificationPreferenceRead(
        order_id=order_id, order_opted_out=order_out, customer_opted_out=customer_out
    )
