"""Each consumed event becomes a pending delivery for every endpoint it matches, in the
transaction of its inbox row: consumed twice, it is matched once.

Only order-capture's `oms.order.placed` says an order's channel; notifications remembers it.
An event of an order whose placement has not been consumed yet (the topics are read side by
side, so an orchestration event can come first) goes at once to the endpoints without a
channel filter, and is parked for the filtered ones until the placement says the channel.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from uuid import UUID

from services.notifications.domain import commands
from services.notifications.domain.matching import (
    EventFacts,
    matching,
    waiting_for_channel,
    webhook_payload,
)
from services.notifications.service_layer.handlers.customer_messages import (
    record_customer_messages,
)
from services.notifications.service_layer.unit_of_work import (
    NewDelivery,
    ParkedEvent,
    UnitOfWork,
)


async def record_event(
    cmd: commands.RecordEvent, uow: UnitOfWork, *, sms_kinds: Collection[str] = frozenset()
) -> None:
    payload = webhook_payload(cmd.cloud_event)
    channel = cmd.channel
    if cmd.order_id is not None:
        await uow.orders.lock(cmd.order_id)
        if channel is not None:
            await uow.orders.remember(cmd.order_id, channel)
        else:
            channel = await uow.orders.channel_of(cmd.order_id)
    endpoints = await uow.endpoints.receiving()
    now = uow.clock.now()
    deliveries = [
        _delivery(endpoint.id, cmd, payload)
        for endpoint in matching(endpoints, EventFacts(cmd.event_type, channel))
    ]
    if cmd.order_id is not None and channel is None:
        if waiting_for_channel(endpoints, cmd.event_type):
            await uow.orders.park(
                ParkedEvent(
                    cmd.event_id,
                    cmd.event_type,
                    cmd.key,
                    cmd.order_id,
                    cmd.occurred_at,
                    payload,
                )
            )
    elif cmd.order_id is not None and cmd.channel is not None:
        # The placement told the channel: the order's parked events reach the filtered
        # endpoints now (the unfiltered ones had them when they came).
        for parked in await uow.orders.take_parked(cmd.order_id):
            facts = EventFacts(parked.event_type, channel)
            deliveries.extend(
                NewDelivery(
                    endpoint.id,
                    parked.event_id,
                    parked.event_type,
                    parked.key,
                    parked.order_id,
                    parked.occurred_at,
                    parked.payload,
                )
                for endpoint in matching(endpoints, facts)
                if endpoint.channels is not None
            )
    if deliveries:
        await uow.deliveries.add(deliveries, now)
    # The customer messages the event causes, in the same transaction (once per event).
    await record_customer_messages(cmd, uow, sms_kinds)


def _delivery(endpoint_id: UUID, cmd: commands.RecordEvent, payload: dict[str, Any]) -> NewDelivery:
    return NewDelivery(
        endpoint_id,
        cmd.event_id,
        cmd.event_type,
        cmd.key,
        cmd.order_id,
        cmd.occurred_at,
        payload,
    )
