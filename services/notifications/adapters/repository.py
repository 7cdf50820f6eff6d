"""The SQLAlchemy repositories implementing the service layer's ports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from libs.bus.message_bus import lock_keys
from libs.ids import new_id
from services.notifications.adapters.mappers import endpoint_of, endpoint_row
from services.notifications.adapters.tables import (
    order_channel,
    parked_event,
    webhook_delivery,
    webhook_endpoint,
)
from services.notifications.domain.endpoints import EndpointStatus, WebhookEndpoint
from services.notifications.service_layer.unit_of_work import NewDelivery, ParkedEvent


class EndpointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self.seen: list[WebhookEndpoint] = []
        self._receiving: list[WebhookEndpoint] | None = None

    async def add(self, endpoint: WebhookEndpoint) -> None:
        await self._session.execute(insert(webhook_endpoint).values(endpoint_row(endpoint)))
        self.seen.append(endpoint)

    async def get_for_update(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        row = (
            await self._session.execute(
                select(webhook_endpoint)
                .where(webhook_endpoint.c.id == endpoint_id)
                .with_for_update()
            )
        ).one_or_none()
        if row is None:
            return None
        endpoint = endpoint_of(row)
        self.seen.append(endpoint)
        return endpoint

    async def save(self, endpoint: WebhookEndpoint) -> None:
        values = endpoint_row(endpoint)
        values.pop("id")
        await self._session.execute(
            update(webhook_endpoint).where(webhook_endpoint.c.id == endpoint.id).values(values)
        )

    async def delete(self, endpoint_id: UUID) -> None:
        await self._session.execute(
            delete(webhook_endpoint).where(webhook_endpoint.c.id == endpoint_id)
        )

    async def receiving(self) -> list[WebhookEndpoint]:
        # Read once per unit of work: a consumer's batch of hundreds of events shares one, and
        # no handler of an event changes an endpoint.
        if self._receiving is None:
            rows = await self._session.execute(
                select(webhook_endpoint).where(
                    webhook_endpoint.c.enabled,
                    webhook_endpoint.c.status != EndpointStatus.DISABLED.value,
                )
            )
            self._receiving = [endpoint_of(row) for row in rows]
        return self._receiving


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, deliveries: Sequence[NewDelivery], now: datetime) -> None:
        rows = [
            {
                "id": new_id(),
                "endpoint_id": d.endpoint_id,
                "webhook_id": d.webhook_id,
                "event_type": d.event_type,
                "aggregate_key": d.key,
                "order_id": d.order_id,
                "occurred_at": d.occurred_at,
                "payload": dict(d.payload),
                "status": "pending",
                "next_attempt_at": now,
                "created_at": now,
            }
            for d in deliveries
        ]
        await self._session.execute(
            pg_insert(webhook_delivery)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["endpoint_id", "webhook_id"])
        )


class OrderChannels:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock(self, order_id: UUID) -> None:
        # The lock a consumer's batch takes on its records' keys (an order's id): inside a
        # batch that already holds it, taking it again changes nothing.
        await lock_keys(self._session, [str(order_id)])

    async def remember(self, order_id: UUID, channel: str) -> None:
        await self._session.execute(
            pg_insert(order_channel)
            .values(order_id=order_id, channel=channel)
            .on_conflict_do_nothing(index_elements=["order_id"])
        )

    async def channel_of(self, order_id: UUID) -> str | None:
        found: str | None = await self._session.scalar(
            select(order_channel.c.channel).where(order_channel.c.order_id == order_id)
        )
        return found

    async def park(self, event: ParkedEvent) -> None:
        await self._session.execute(
            pg_insert(parked_event)
            .values(
                event_id=event.event_id,
                event_type=event.event_type,
                aggregate_key=event.key,
                order_id=event.order_id,
                occurred_at=event.occurred_at,
                payload=dict(event.payload),
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
        )

    async def take_parked(self, order_id: UUID) -> list[ParkedEvent]:
        rows = await self._session.execute(
            delete(parked_event).where(parked_event.c.order_id == order_id).returning(parked_event)
        )
        found = [
            ParkedEvent(
                r.event_id, r.event_type, r.aggregate_key, r.order_id, r.occurred_at, r.payload
            )
            for r in rows
        ]
        return sorted(found, key=lambda p: p.occurred_at)
