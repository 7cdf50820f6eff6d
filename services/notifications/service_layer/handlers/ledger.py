"""The delivery ledger's actions: send a delivery again, replay an endpoint's deliveries since a
time, and queue a test ping. Each only makes deliveries due: the delivery worker sends them as
it sends any other (signed, one order's in order, retried), so none of these waits for a
receiver.

A caller narrowed to channels reaches only the deliveries of endpoints it sees (their channel
filter within its channels); any other is answered exactly like a missing one. An endpoint that
does not receive (switched off, or disabled for failing) is refused: nothing would be sent.

With an Idempotency-Key, the same request again answers what the first did (the same delivery,
or the same count) and requeues nothing more."""

from __future__ import annotations

from uuid import UUID

from libs.ids import new_id
from services.notifications.domain import commands
from services.notifications.domain.endpoints import WebhookEndpoint, visible_to
from services.notifications.domain.errors import (
    DisabledWebhookEndpoint,
    WebhookDeliveryNotFound,
    WebhookEndpointNotFound,
)
from services.notifications.domain.ledger import PING_EVENT_TYPE, parse_since, ping_event
from services.notifications.service_layer.unit_of_work import NewDelivery, UnitOfWork

SCOPE_RETRY = "webhook-deliveries-retry"
SCOPE_REPLAY = "webhook-endpoints-replay"
SCOPE_PING = "webhook-endpoints-test"
ACCEPTED = 202


async def retry_delivery(cmd: commands.RetryDelivery, uow: UnitOfWork) -> UUID:
    """The delivery's id; it is due now."""
    prior = await uow.idempotency.replayed(
        scope=SCOPE_RETRY, key=cmd.idempotency_key, fingerprint=str(cmd.delivery_id)
    )
    if prior is not None and prior.resource_id is not None:
        return UUID(prior.resource_id)
    delivery = await uow.deliveries.get_for_update(cmd.delivery_id)
    endpoint = await uow.endpoints.get(delivery.endpoint_id) if delivery is not None else None
    if delivery is None or endpoint is None or not visible_to(endpoint, cmd.allowed_channels):
        raise WebhookDeliveryNotFound(f"no webhook delivery {cmd.delivery_id}")
    _check_receiving(endpoint)
    await uow.deliveries.requeue(delivery.id, uow.clock.now())
    await uow.idempotency.complete(resource_id=str(delivery.id), status=ACCEPTED)
    return delivery.id


async def replay_endpoint(cmd: commands.ReplayEndpoint, uow: UnitOfWork) -> int:
    """How many deliveries are due again."""
    prior = await uow.idempotency.replayed(
        scope=SCOPE_REPLAY, key=cmd.idempotency_key, fingerprint=f"{cmd.endpoint_id} {cmd.since}"
    )
    if prior is not None and prior.resource_id is not None:
        # The count is the outcome this action stores where a creating one stores an id.
        return int(prior.resource_id)
    endpoint = await _visible(uow, cmd.endpoint_id, cmd.allowed_channels)
    now = uow.clock.now()
    since = parse_since(cmd.since, now)
    _check_receiving(endpoint)
    requeued = await uow.deliveries.requeue_since(endpoint.id, since, now)
    await uow.idempotency.complete(resource_id=str(requeued), status=ACCEPTED)
    return requeued


async def ping_endpoint(cmd: commands.PingEndpoint, uow: UnitOfWork) -> UUID:
    """The ping's delivery id."""
    prior = await uow.idempotency.replayed(
        scope=SCOPE_PING, key=cmd.idempotency_key, fingerprint=str(cmd.endpoint_id)
    )
    if prior is not None and prior.resource_id is not None:
        return UUID(prior.resource_id)
    endpoint = await _visible(uow, cmd.endpoint_id, cmd.allowed_channels)
    _check_receiving(endpoint)
    now = uow.clock.now()
    event_id = str(new_id())
    delivery_id = await uow.deliveries.add_one(
        NewDelivery(
            endpoint_id=endpoint.id,
            webhook_id=event_id,
            event_type=PING_EVENT_TYPE,
            # A key of its own: a ping never waits behind an order's deliveries still pending.
            key=event_id,
            order_id=None,
            occurred_at=now,
            payload=ping_event(event_id, endpoint.id, now),
        ),
        now,
    )
    await uow.idempotency.complete(resource_id=str(delivery_id), status=ACCEPTED)
    return delivery_id


async def _visible(
    uow: UnitOfWork, endpoint_id: UUID, allowed: frozenset[str] | None
) -> WebhookEndpoint:
    endpoint = await uow.endpoints.get(endpoint_id)
    if endpoint is None or not visible_to(endpoint, allowed):
        raise WebhookEndpointNotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


def _check_receiving(endpoint: WebhookEndpoint) -> None:
    if not endpoint.receiving:
        why = "switched off" if not endpoint.enabled else "disabled after failing too long"
        raise DisabledWebhookEndpoint(
            f"webhook endpoint {endpoint.id} is {why}: enable it (PATCH enabled: true) first",
            status=endpoint.status.value,
            enabled=endpoint.enabled,
        )
