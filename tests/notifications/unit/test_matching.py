"""Which endpoints an event goes to, and that a payment token never does."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from services.notifications.domain.errors import UnknownEventType
from services.notifications.domain.matching import (
    EventFacts,
    check_patterns,
    matching,
    pattern_matches,
    waiting_for_channel,
    webhook_payload,
)
from services.notifications.messaging.subscriptions import KNOWN_EVENT_TYPES


@dataclass(frozen=True)
class Endpoint:
    name: str
    event_types: tuple[str, ...]
    channels: frozenset[str] | None = None
    receiving: bool = True


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("*", "oms.order.placed", True),
        ("oms.*", "oms.inventory.stock_changed", True),
        ("oms.order.*", "oms.order.placed", True),
        ("oms.order.*", "oms.orchestration.order_routed", False),
        ("oms.order.placed", "oms.order.placed", True),
        ("oms.order.placed", "oms.order.placed_again", False),
        ("oms.order", "oms.order.placed", False),
        ("oms.ord*", "oms.order.placed", False),
    ],
)
def test_a_pattern_is_a_type_a_prefix_with_star_or_star(
    pattern: str, event_type: str, expected: bool
) -> None:
    assert pattern_matches(pattern, event_type) is expected


def test_patterns_are_checked_against_the_known_event_types() -> None:
    assert check_patterns(["oms.order.*", "*", "oms.order.*"], KNOWN_EVENT_TYPES) == (
        "oms.order.*",
        "*",
    )
    assert check_patterns(["oms.returns.approved"], KNOWN_EVENT_TYPES)
    for wrong in (["oms.order.shipped"], ["order.*"], ["oms.nothing.*"], ["oms.*.placed"], []):
        with pytest.raises(UnknownEventType):
            check_patterns(wrong, KNOWN_EVENT_TYPES)


def test_the_known_event_types_are_those_of_the_four_topics_consumed() -> None:
    assert "oms.order.placed" in KNOWN_EVENT_TYPES
    assert "oms.orchestration.fulfillment_shipped" in KNOWN_EVENT_TYPES
    assert "oms.inventory.stock_changed" in KNOWN_EVENT_TYPES
    assert "oms.returns.refunded" in KNOWN_EVENT_TYPES
    # Commands to inventory and notifications' own events are not sent to webhooks.
    assert "oms.inventory.reserve_stock" not in KNOWN_EVENT_TYPES
    assert not any(t.startswith("oms.notifications.") for t in KNOWN_EVENT_TYPES)


ALL = Endpoint("all", ("*",))
ORDERS = Endpoint("orders", ("oms.order.*",))
SHIPPED = Endpoint("shipped", ("oms.orchestration.fulfillment_shipped",))
WEB = Endpoint("web", ("*",), frozenset({"web"}))
SHOP = Endpoint("shop", ("oms.order.*",), frozenset({"shop", "app"}))
OFF = Endpoint("off", ("*",), receiving=False)
ENDPOINTS = [ALL, ORDERS, SHIPPED, WEB, SHOP, OFF]


def _names(found: list[Endpoint]) -> list[str]:
    return [e.name for e in found]


def test_an_event_goes_to_every_receiving_endpoint_whose_types_and_channels_it_matches() -> None:
    assert _names(matching(ENDPOINTS, EventFacts("oms.order.placed", "web"))) == [
        "all",
        "orders",
        "web",
    ]
    assert _names(matching(ENDPOINTS, EventFacts("oms.order.cancelled", "app"))) == [
        "all",
        "orders",
        "shop",
    ]
    assert _names(
        matching(ENDPOINTS, EventFacts("oms.orchestration.fulfillment_shipped", "web"))
    ) == ["all", "shipped", "web"]


def test_an_event_of_no_known_channel_never_goes_to_a_filtered_endpoint() -> None:
    stock = EventFacts("oms.inventory.stock_changed", None)
    assert _names(matching(ENDPOINTS, stock)) == ["all"]
    assert _names(matching(ENDPOINTS, EventFacts("oms.order.updated", None))) == [
        "all",
        "orders",
    ]


def test_the_filtered_endpoints_an_event_waits_for_its_channel_for() -> None:
    assert _names(waiting_for_channel(ENDPOINTS, "oms.order.updated")) == ["web", "shop"]
    assert _names(waiting_for_channel(ENDPOINTS, "oms.returns.approved")) == ["web"]


def _placed(payment: dict[str, object] | None) -> dict[str, object]:
    data: dict[str, object] = {"order_id": "0193", "channel": "web", "total_amount": "10.00"}
    if payment is not None:
        data["payment"] = payment
    return {"id": "e1", "type": "oms.order.placed", "source": "/oms/order-capture", "data": data}


def test_the_payment_token_of_oms_order_placed_is_never_in_the_payload() -> None:
    event = _placed({"method": "card", "amount": "10.00", "token": "tok_visa_4242"})

    payload = webhook_payload(event)

    assert payload["data"]["payment"] == {"method": "card", "amount": "10.00"}
    assert "tok_visa_4242" not in repr(payload)
    assert payload["id"] == "e1" and payload["type"] == "oms.order.placed"
    # The consumed event itself is left as it was (a copy is changed).
    assert event["data"]["payment"]["token"] == "tok_visa_4242"  # type: ignore[index]


def test_an_event_without_a_token_is_sent_whole() -> None:
    for event in (_placed(None), _placed({"method": "invoice", "token": None})):
        payload = webhook_payload(event)
        assert "token" not in payload["data"].get("payment", {})
        assert payload["data"]["order_id"] == "0193"
