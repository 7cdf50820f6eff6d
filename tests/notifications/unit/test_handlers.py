"""Notifications' use cases run as the bus runs them (one unit of work, one commit each), on
the in-memory fakes: no database, no broker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from libs.errors import IdempotencyKeyReused, PreconditionFailed
from services.notifications.domain import commands
from services.notifications.domain.delivery import RetryPolicy
from services.notifications.domain.endpoints import (
    EndpointChanges,
    EndpointStatus,
)
from services.notifications.domain.errors import (
    ChannelNotAllowed,
    InsecureWebhookUrl,
    InvalidWebhookSecret,
    PrivateWebhookTarget,
    UnknownEventType,
    WebhookEndpointNotFound,
)
from services.notifications.domain.events import WebhookEndpointDisabled
from services.notifications.domain.secrets import format_secret
from services.notifications.domain.targets import TargetPolicy
from services.notifications.messaging.subscriptions import KNOWN_EVENT_TYPES
from services.notifications.service_layer.handlers import handlers
from services.notifications.service_layer.handlers.endpoints import EndpointRules
from tests.notifications.unit.fakes import FakeDatabase, FakeUnitOfWork

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
URL = "https://hooks.example.com/oms"
HANDLERS = handlers(
    EndpointRules(TargetPolicy(require_https=True, allow_private=False), KNOWN_EVENT_TYPES),
    RetryPolicy(),
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


class Service:
    def __init__(self) -> None:
        self.db = FakeDatabase()
        self.clock = Clock(NOW)

    async def handle(self, message: object) -> Any:
        async with FakeUnitOfWork(self.db, self.clock) as uow:
            result = await HANDLERS[type(message)](message, uow)
            await uow.commit()
        return result

    async def create(self, **fields: Any) -> UUID:
        endpoint_id: UUID = await self.handle(create(**fields))
        return endpoint_id

    def deliveries(self, endpoint_id: UUID) -> list[str]:
        """The event types of the endpoint's deliveries, in the order they were made."""
        return [d.event_type for (e, _), d in self.db.deliveries.items() if e == endpoint_id]


def create(**fields: Any) -> commands.CreateEndpoint:
    return commands.CreateEndpoint(
        url=fields.pop("url", URL),
        event_types=fields.pop("event_types", ("*",)),
        channels=fields.pop("channels", None),
        enabled=fields.pop("enabled", True),
        description=fields.pop("description", ""),
        fingerprint=fields.pop("fingerprint", "body"),
        allowed_channels=fields.pop("allowed_channels", None),
        **fields,
    )


def event(
    event_type: str,
    *,
    order_id: UUID | None = None,
    channel: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime = NOW,
) -> commands.RecordEvent:
    event_id = str(uuid.uuid4())
    body = dict(data or {})
    if order_id is not None:
        body.setdefault("order_id", str(order_id))
    if channel is not None:
        body.setdefault("channel", channel)
    return commands.RecordEvent(
        event_id=event_id,
        event_type=event_type,
        occurred_at=at,
        key=str(order_id) if order_id else "SKU-1",
        order_id=order_id,
        channel=channel,
        cloud_event={"id": event_id, "type": event_type, "data": body},
    )


# --- endpoints ------------------------------------------------------------------------------


async def test_create_makes_an_active_endpoint_with_a_secret_in_the_format() -> None:
    s = Service()
    endpoint_id = await s.create(event_types=("oms.order.*", "oms.order.*"), channels=None)

    endpoint = s.db.endpoints[endpoint_id]
    assert endpoint.status is EndpointStatus.ACTIVE and endpoint.enabled
    assert endpoint.event_types == ("oms.order.*",)
    assert endpoint.secret.value.startswith("whsec_")
    assert endpoint.secret.expires_at is None


async def test_create_with_the_same_idempotency_key_makes_one_endpoint() -> None:
    s = Service()
    first = await s.create(idempotency_key="k1")
    again = await s.create(idempotency_key="k1")

    assert first == again
    assert list(s.db.endpoints) == [first]
    with pytest.raises(IdempotencyKeyReused):
        await s.create(idempotency_key="k1", fingerprint="another body")


async def test_create_refuses_bad_urls_and_unknown_event_types_and_leaves_nothing() -> None:
    s = Service()
    with pytest.raises(InsecureWebhookUrl):
        await s.create(url="http://hooks.example.com/oms")
    with pytest.raises(PrivateWebhookTarget):
        await s.create(url="https://169.254.169.254/latest/meta-data/")
    with pytest.raises(UnknownEventType):
        await s.create(event_types=("oms.order.shipped",))

    assert s.db.endpoints == {}


async def test_create_takes_a_secret_brought_in_the_format_only() -> None:
    s = Service()
    brought = format_secret(b"s" * 32)
    endpoint_id = await s.create(secret=brought)

    assert s.db.endpoints[endpoint_id].secret.value == brought
    with pytest.raises(InvalidWebhookSecret):
        await s.create(secret="whsec_tooshort")


async def test_a_token_narrowed_to_channels_creates_endpoints_filtered_within_them() -> None:
    s = Service()
    allowed = frozenset({"web", "app"})
    assert await s.create(channels=frozenset({"web"}), allowed_channels=allowed)
    with pytest.raises(ChannelNotAllowed):
        await s.create(channels=None, allowed_channels=allowed)  # every channel's events
    with pytest.raises(ChannelNotAllowed):
        await s.create(channels=frozenset({"web", "marketplace"}), allowed_channels=allowed)


async def test_update_changes_what_it_names_and_checks_it_like_create() -> None:
    s = Service()
    endpoint_id = await s.create(description="feed")

    await s.handle(
        commands.UpdateEndpoint(
            endpoint_id,
            EndpointChanges(event_types=("oms.returns.*",), channels=frozenset({"web"})),
            None,
        )
    )
    endpoint = s.db.endpoints[endpoint_id]
    assert endpoint.event_types == ("oms.returns.*",)
    assert endpoint.channels == frozenset({"web"})
    assert endpoint.description == "feed" and endpoint.url == URL
    assert endpoint.version == 2

    with pytest.raises(PrivateWebhookTarget):
        await s.handle(
            commands.UpdateEndpoint(endpoint_id, EndpointChanges(url="https://10.0.0.1/"), None)
        )
    with pytest.raises(PreconditionFailed):
        await s.handle(
            commands.UpdateEndpoint(endpoint_id, EndpointChanges(description="x"), None, 1)
        )
    assert s.db.endpoints[endpoint_id].version == 2


async def test_enabling_an_endpoint_the_service_disabled_makes_it_active() -> None:
    s = Service()
    endpoint_id = await s.create()
    stored = s.db.endpoints[endpoint_id]
    stored.disable_for_failures(NOW, "500 for 3 days")
    assert stored.events == [WebhookEndpointDisabled(endpoint_id, URL, "500 for 3 days", NOW)]
    assert not stored.receiving

    await s.handle(commands.UpdateEndpoint(endpoint_id, EndpointChanges(enabled=True), None))

    assert s.db.endpoints[endpoint_id].status is EndpointStatus.ACTIVE
    assert s.db.endpoints[endpoint_id].receiving


async def test_a_narrowed_token_reaches_only_endpoints_filtered_within_its_channels() -> None:
    s = Service()
    unfiltered = await s.create()
    web = await s.create(channels=frozenset({"web"}))
    web_only = frozenset({"web"})

    for cmd in (
        commands.UpdateEndpoint(unfiltered, EndpointChanges(description="x"), web_only),
        commands.RotateSecret(unfiltered, None, web_only),
        commands.DeleteEndpoint(unfiltered, web_only),
        commands.DeleteEndpoint(web, frozenset({"app"})),
    ):
        with pytest.raises(WebhookEndpointNotFound):
            await s.handle(cmd)
    with pytest.raises(ChannelNotAllowed):  # widening its own endpoint beyond its channels
        await s.handle(commands.UpdateEndpoint(web, EndpointChanges(channels=None), web_only))

    await s.handle(commands.DeleteEndpoint(web, web_only))
    assert list(s.db.endpoints) == [unfiltered]


async def test_rotating_the_secret_keeps_the_old_one_for_the_overlap() -> None:
    s = Service()
    endpoint_id = await s.create()
    old = s.db.endpoints[endpoint_id].secret.value
    s.clock.at = NOW + timedelta(hours=1)

    new: str = await s.handle(commands.RotateSecret(endpoint_id, None, None))

    endpoint = s.db.endpoints[endpoint_id]
    assert new != old and endpoint.secret.value == new
    assert endpoint.signing_secrets(NOW + timedelta(hours=24)) == [new, old]
    assert endpoint.signing_secrets(NOW + timedelta(hours=25)) == [new]

    brought = format_secret(b"b" * 24)
    assert await s.handle(commands.RotateSecret(endpoint_id, timedelta(0), None, brought))
    assert s.db.endpoints[endpoint_id].signing_secrets(s.clock.now()) == [brought, old]


# --- consumed events ------------------------------------------------------------------------


async def test_an_event_makes_a_delivery_for_each_matching_endpoint_once() -> None:
    s = Service()
    orders = await s.create(event_types=("oms.order.*",))
    shipped = await s.create(event_types=("oms.orchestration.fulfillment_shipped",))
    off = await s.create(enabled=False)
    order_id = uuid.uuid4()
    placed = event("oms.order.placed", order_id=order_id, channel="web")

    await s.handle(placed)
    await s.handle(placed)  # the inbox stops a repeat; the delivery's key would too

    assert s.deliveries(orders) == ["oms.order.placed"]
    assert s.deliveries(shipped) == [] and s.deliveries(off) == []
    delivery = s.db.deliveries[(orders, placed.event_id)]
    assert delivery.webhook_id == placed.event_id
    assert delivery.order_id == order_id and delivery.key == str(order_id)
    assert delivery.payload["id"] == placed.event_id


async def test_the_stored_payload_of_oms_order_placed_has_no_payment_token() -> None:
    s = Service()
    endpoint_id = await s.create()
    placed = event(
        "oms.order.placed",
        order_id=uuid.uuid4(),
        channel="web",
        data={"payment": {"method": "card", "token": "tok_visa_4242"}},
    )

    await s.handle(placed)

    payload = s.db.deliveries[(endpoint_id, placed.event_id)].payload
    assert payload["data"]["payment"] == {"method": "card"}
    assert "tok_visa_4242" not in repr(s.db)


async def test_channel_filtered_endpoints_get_only_their_channels_orders_events() -> None:
    s = Service()
    web = await s.create(channels=frozenset({"web"}))
    app = await s.create(channels=frozenset({"app"}))
    every = await s.create()
    order_id = uuid.uuid4()

    await s.handle(event("oms.order.placed", order_id=order_id, channel="web"))
    await s.handle(event("oms.orchestration.order_routed", order_id=order_id))
    await s.handle(event("oms.inventory.stock_changed"))  # no order, so no channel

    assert s.deliveries(web) == ["oms.order.placed", "oms.orchestration.order_routed"]
    assert s.deliveries(app) == []
    assert s.deliveries(every) == [
        "oms.order.placed",
        "oms.orchestration.order_routed",
        "oms.inventory.stock_changed",
    ]


async def test_an_event_that_comes_before_its_orders_placement_waits_for_the_channel() -> None:
    s = Service()
    web = await s.create(channels=frozenset({"web"}))
    app = await s.create(channels=frozenset({"app"}))
    every = await s.create()
    order_id = uuid.uuid4()

    await s.handle(event("oms.orchestration.order_routed", order_id=order_id, at=NOW))
    assert s.deliveries(every) == ["oms.orchestration.order_routed"]
    assert s.deliveries(web) == [] and len(s.db.parked) == 1

    placed = event("oms.order.placed", order_id=order_id, channel="web", at=NOW - timedelta(1))
    await s.handle(placed)

    assert sorted(s.deliveries(web)) == ["oms.orchestration.order_routed", "oms.order.placed"]
    assert s.deliveries(app) == []
    assert s.deliveries(every) == ["oms.orchestration.order_routed", "oms.order.placed"]
    assert s.db.parked == {}


async def test_nothing_is_parked_when_no_filtered_endpoint_wants_the_event() -> None:
    s = Service()
    await s.create(channels=frozenset({"web"}), event_types=("oms.returns.*",))

    await s.handle(event("oms.orchestration.order_routed", order_id=uuid.uuid4()))

    assert s.db.parked == {} and s.db.deliveries == {}
