"""Read-side SQL for the notifications API: webhook endpoints and their deliveries.

The queries return the adapters' own read models (the domain's endpoint, the dataclasses
below), never the API's schemas: the routes turn them into responses.

A caller narrowed to channels sees only the endpoints whose channel filter lies within its
channels (an endpoint without a filter gets every channel's events, so only an unnarrowed
caller sees it); the filter is part of each query, so another endpoint is never read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, cast, exists, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from libs.db.pagination import Keyset, by_datetime, by_int, by_uuid
from services.notifications.adapters.mappers import endpoint_of
from services.notifications.adapters.tables import (
    notification,
    order_channel,
    webhook_delivery,
    webhook_delivery_attempt,
    webhook_endpoint,
)
from services.notifications.domain.endpoints import WebhookEndpoint

Channels = frozenset[str] | None

ENDPOINTS = Keyset(
    by_datetime(webhook_endpoint.c.created_at), by_uuid(webhook_endpoint.c.id), descending=True
)
DELIVERIES = Keyset(by_int(webhook_delivery.c.seq), descending=True)


@dataclass(frozen=True)
class EndpointsPage:
    items: list[WebhookEndpoint]
    next_cursor: str | None


@dataclass(frozen=True)
class Delivery:
    id: UUID
    endpoint_id: UUID
    webhook_id: str
    event_type: str
    aggregate_key: str
    order_id: UUID | None
    occurred_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class Attempt:
    number: int
    started_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True)
class DeliveryWithAttempts(Delivery):
    attempt_log: list[Attempt]


@dataclass(frozen=True)
class DeliveriesPage:
    items: list[Delivery]
    next_cursor: str | None


def _visible(channels: Channels) -> ColumnElement[bool]:
    if channels is None:
        return true()
    allowed = cast(sorted(channels), ARRAY(Text))
    column = webhook_endpoint.c.channels
    contained: ColumnElement[bool] = column.contained_by(allowed)
    return column.is_not(None) & contained


async def get_endpoint(
    session: AsyncSession, endpoint_id: UUID, *, channels: Channels
) -> WebhookEndpoint | None:
    row = (
        await session.execute(
            select(webhook_endpoint).where(webhook_endpoint.c.id == endpoint_id, _visible(channels))
        )
    ).one_or_none()
    return endpoint_of(row) if row is not None else None


async def list_endpoints(
    session: AsyncSession, *, channels: Channels, limit: int, cursor: str | None
) -> EndpointsPage:
    """Newest first."""
    query: Select[Any] = select(webhook_endpoint).where(_visible(channels))
    rows, next_cursor = await ENDPOINTS.page(session, query, limit=limit, cursor=cursor)
    return EndpointsPage([endpoint_of(r) for r in rows], next_cursor)


async def list_deliveries(
    session: AsyncSession, endpoint_id: UUID, *, limit: int, cursor: str | None
) -> DeliveriesPage:
    """Newest first; the caller checked it sees the endpoint."""
    d = webhook_delivery.c
    query: Select[Any] = select(d.seq, *_DELIVERY_COLUMNS).where(d.endpoint_id == endpoint_id)
    rows, next_cursor = await DELIVERIES.page(session, query, limit=limit, cursor=cursor)
    return DeliveriesPage([_delivery(r) for r in rows], next_cursor)


async def list_order_deliveries(
    session: AsyncSession, order_id: UUID, *, channels: Channels, limit: int, cursor: str | None
) -> DeliveriesPage:
    """Newest first: the deliveries made for one order, to every endpoint the caller sees. A
    narrowed caller also needs the order's channel (kept from its placement) within its
    channels: an order not seen placed yet shows it nothing."""
    d = webhook_delivery.c
    query: Select[Any] = (
        select(d.seq, *_DELIVERY_COLUMNS)
        .join(webhook_endpoint, webhook_endpoint.c.id == d.endpoint_id)
        .where(d.order_id == order_id, _visible(channels))
    )
    if channels is not None:
        query = query.where(
            exists().where(
                order_channel.c.order_id == d.order_id,
                order_channel.c.channel.in_(sorted(channels)),
            )
        )
    rows, next_cursor = await DELIVERIES.page(session, query, limit=limit, cursor=cursor)
    return DeliveriesPage([_delivery(r) for r in rows], next_cursor)


async def get_delivery(
    session: AsyncSession, delivery_id: UUID, *, channels: Channels
) -> DeliveryWithAttempts | None:
    """The delivery with every attempt, oldest first, if the caller sees its endpoint."""
    row = (
        await session.execute(
            select(*_DELIVERY_COLUMNS)
            .join(webhook_endpoint, webhook_endpoint.c.id == webhook_delivery.c.endpoint_id)
            .where(webhook_delivery.c.id == delivery_id, _visible(channels))
        )
    ).one_or_none()
    if row is None:
        return None
    a = webhook_delivery_attempt.c
    attempts = await session.execute(
        select(a.number, a.started_at, a.status_code, a.latency_ms, a.error, a.response_excerpt)
        .where(a.delivery_id == delivery_id)
        .order_by(a.number, a.id)
    )
    return DeliveryWithAttempts(
        **vars(_delivery(row)),
        attempt_log=[
            Attempt(
                r.number, r.started_at, r.status_code, r.latency_ms, r.error, r.response_excerpt
            )
            for r in attempts
        ],
    )


_DELIVERY_COLUMNS = (
    webhook_delivery.c.id,
    webhook_delivery.c.endpoint_id,
    webhook_delivery.c.webhook_id,
    webhook_delivery.c.event_type,
    webhook_delivery.c.aggregate_key,
    webhook_delivery.c.order_id,
    webhook_delivery.c.occurred_at,
    webhook_delivery.c.status,
    webhook_delivery.c.attempts,
    webhook_delivery.c.next_attempt_at,
    webhook_delivery.c.created_at,
    webhook_delivery.c.last_attempt_at,
    webhook_delivery.c.last_status_code,
    webhook_delivery.c.last_error,
    webhook_delivery.c.payload,
)


def _delivery(r: Any) -> Delivery:
    return Delivery(
        r.id,
        r.endpoint_id,
        r.webhook_id,
        r.event_type,
        r.aggregate_key,
        r.order_id,
        r.occurred_at,
        r.status,
        r.attempts,
        r.next_attempt_at,
        r.created_at,
        r.last_attempt_at,
        r.last_status_code,
        r.last_error,
        r.payload,
    )


# --- customer notifications -------------------------------------------------------------------

NOTIFICATIONS = Keyset(
    by_datetime(notification.c.created_at), by_uuid(notification.c.id), descending=True
)


@dataclass(frozen=True)
class CustomerNotification:
    id: UUID
    order_id: UUID
    kind: str
    business_key: str
    medium: str
    recipient: str | None
    language: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    message_id: str | None
    event_type: str
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class NotificationsPage:
    items: list[CustomerNotification]
    next_cursor: str | None


def _notification_visible(channels: Channels) -> ColumnElement[bool]:
    # A notification whose order has not been seen placed has no channel yet: only an
    # unnarrowed caller sees it.
    if channels is None:
        return true()
    return notification.c.channel.in_(sorted(channels))


_NOTIFICATION_COLUMNS = (
    notification.c.id,
    notification.c.order_id,
    notification.c.kind,
    notification.c.business_key,
    notification.c.medium,
    notification.c.recipient,
    notification.c.language,
    notification.c.status,
    notification.c.attempts,
    notification.c.next_attempt_at,
    notification.c.last_error,
    notification.c.message_id,
    notification.c.event_type,
    notification.c.created_at,
    notification.c.sent_at,
)


def _notification(row: Any) -> CustomerNotification:
    return CustomerNotification(*(getattr(row, c.name) for c in _NOTIFICATION_COLUMNS))


async def list_notifications(
    session: AsyncSession,
    *,
    order_id: UUID | None,
    channels: Channels,
    limit: int,
    cursor: str | None,
) -> NotificationsPage:
    """Newest first; an order's, or every order's."""
    query: Select[Any] = select(*_NOTIFICATION_COLUMNS).where(_notification_visible(channels))
    if order_id is not None:
        query = query.where(notification.c.order_id == order_id)
    rows, next_cursor = await NOTIFICATIONS.page(session, query, limit=limit, cursor=cursor)
    return NotificationsPage([_notification(r) for r in rows], next_cursor)


async def get_notification(
    session: AsyncSession, notification_id: UUID, *, channels: Channels
) -> CustomerNotification | None:
    row = (
        await session.execute(
            select(*_NOTIFICATION_COLUMNS).where(
                notification.c.id == notification_id, _notification_visible(channels)
            )
        )
    ).one_or_none()
    return _notification(row) if row is not None else None
