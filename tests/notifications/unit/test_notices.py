"""Which message an event causes, once per business fact, and the template context each kind's
templates need exactly (the renderer refuses any other)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from services.notifications.adapters.templating import TemplateRenderer, load_brand_book
from services.notifications.domain.localisation import Language
from services.notifications.domain.messages import NotificationKind, context_problems
from services.notifications.domain.notices import (
    CustomerOrder,
    Notice,
    RetryPolicy,
    context_for,
    customer_order_of_placed,
    notice_for,
    retry_after,
)

K = NotificationKind
ORDER_ID = str(uuid4())


def placed(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_id": ORDER_ID,
        "order_number": "WEB-1001",
        "channel": "web",
        "channel_order_ref": "r1",
        "currency": "EUR",
        "customer_email": "ann@example.com",
        "customer": {"email": "ann@example.com", "name": "Ann Example", "phone": "+4915112345678"},
        "lines": [
            {"line_id": "L1", "sku": "MUG", "name": "Mug", "quantity": 2, "unit_price": "10.00"},
            {"line_id": "L2", "sku": "TOWEL", "quantity": 1, "unit_price": "5", "line_total": "5"},
        ],
        "total_amount": "25.00",
        "placed_at": "2026-03-01T10:00:00Z",
        "shipping_address": {
            "name": "Ann Example",
            "line1": "Hauptstr. 1",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
        "delivery": {"method": "ship", "service_level": "standard"},
        "requested_delivery_date": "2026-03-05",
    }
    data.update(over)
    return data


def order(**over: Any) -> CustomerOrder:
    return customer_order_of_placed(placed(**over))


# One event of each kind that causes a message, as its contract publishes it.
EVENTS: dict[NotificationKind, tuple[str, dict[str, Any]]] = {
    K.ORDER_CONFIRMED: (
        "oms.order.status_changed",
        {"order_id": ORDER_ID, "status": "confirmed", "previous_status": "pending"},
    ),
    K.SHIPPED: (
        "oms.orchestration.fulfillment_shipped",
        {
            "order_id": ORDER_ID,
            "fulfillment_id": "F1",
            "location_code": "WH",
            "shipment_id": "S1",
            "carrier": "dhl",
            "tracking_number": "0034",
            "tracking_url": "https://track.example.com/0034",
            "lines": [{"line_id": "L1", "quantity": 2}],
            "shipped_at": "2026-03-02T10:00:00Z",
        },
    ),
    K.READY_FOR_PICKUP: (
        "oms.orchestration.fulfillment_ready_for_pickup",
        {"order_id": ORDER_ID, "fulfillment_id": "F2", "location_code": "STORE-1"},
    ),
    K.DELIVERED: (
        "oms.orchestration.fulfillment_delivered",
        {
            "order_id": ORDER_ID,
            "fulfillment_id": "F1",
            "location_code": "WH",
            "shipment_id": "S1",
            "lines": [{"line_id": "L1", "quantity": 2}],
            "delivered_at": "2026-03-04T23:30:00+00:00",
        },
    ),
    K.DELAYED: (
        "oms.orchestration.order_delayed",
        {
            "order_id": ORDER_ID,
            "delay_id": "D1",
            "reason_code": "inbound_rescheduled",
            "reason": "later",
            "lines": [{"line_id": "L1", "sku": "MUG", "quantity": 2}],
            "new_estimate": "2026-03-20T18:00:00Z",
        },
    ),
    K.CANCELLED: (
        "oms.order.cancellation_requested",
        {
            "order_id": ORDER_ID,
            "cancellation_id": "C1",
            "reason": "customer_request",
            "lines": [{"line_id": "L2", "sku": "TOWEL", "quantity": 1}],
            "whole_order": False,
        },
    ),
    K.RETURN_APPROVED: (
        "oms.returns.approved",
        {"order_id": ORDER_ID, "return_id": "R1", "rma_number": "RMA-1", "carrier": "dhl"},
    ),
    K.REFUND_ISSUED: (
        "oms.returns.refunded",
        {
            "order_id": ORDER_ID,
            "return_id": "R1",
            "rma_number": "RMA-1",
            "refund_id": "RF1",
            "method": "payment",
            "amount": "10.00",
            "currency": "EUR",
        },
    ),
}


@pytest.mark.parametrize("kind", list(K))
def test_each_kind_has_an_event_and_its_context_is_exactly_what_the_templates_read(
    kind: NotificationKind,
) -> None:
    event_type, data = EVENTS[kind]
    notice = notice_for(event_type, data)
    assert notice is not None and notice.kind is kind
    context = context_for(kind, data, order())
    assert context_problems(kind, context) == []
    brand = load_brand_book().default
    for language in Language:
        rendered = TemplateRenderer().render(kind, language, brand, context)
        assert "WEB-1001" in rendered.text


def test_the_business_key_makes_each_fact_once() -> None:
    confirmed = EVENTS[K.ORDER_CONFIRMED][1]
    # Confirmed again (after a backorder): the same notice, so the ledger keeps one.
    assert notice_for("oms.order.status_changed", confirmed) == Notice(K.ORDER_CONFIRMED, ORDER_ID)
    shipped = EVENTS[K.SHIPPED][1]
    assert notice_for("oms.orchestration.fulfillment_shipped", shipped) == Notice(K.SHIPPED, "S1")
    second = {**shipped, "shipment_id": "S2"}
    assert notice_for("oms.orchestration.fulfillment_shipped", second) == Notice(K.SHIPPED, "S2")
    assert notice_for("oms.orchestration.order_backordered", {"reservation_id": "V1"}) == Notice(
        K.DELAYED, "backorder:V1"
    )


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("oms.order.placed", placed()),
        ("oms.order.status_changed", {"order_id": ORDER_ID, "status": "shipped"}),
        ("oms.orchestration.fulfillment_picked", {"order_id": ORDER_ID}),
        # A whole cancellation is told once, by oms.order.cancelled.
        ("oms.order.cancellation_requested", {"cancellation_id": "C1", "whole_order": True}),
    ],
)
def test_other_events_cause_no_message(event_type: str, data: dict[str, Any]) -> None:
    assert notice_for(event_type, data) is None


def test_a_whole_cancellation_lists_every_line_and_says_so() -> None:
    notice = notice_for("oms.order.cancelled", {"order_id": ORDER_ID, "reason": "out_of_stock"})
    assert notice == Notice(K.CANCELLED, "order")
    context = context_for(K.CANCELLED, {"reason": "out_of_stock"}, order())
    assert context["fully_cancelled"] is True
    assert [line["name"] for line in context["lines"]] == ["Mug", "TOWEL"]


def test_the_projection_reads_the_placement() -> None:
    o = order()
    assert (o.email, o.name, o.language, o.currency) == (
        "ann@example.com",
        "Ann Example",
        Language.DE,
        "EUR",
    )
    assert [(line.name, line.amount) for line in o.lines] == [
        ("Mug", Decimal("20.00")),
        ("TOWEL", Decimal("5")),
    ]
    assert o.shipping_address == ("Ann Example", "Hauptstr. 1", "10115 Berlin", "DE")
    english = order(metadata={"locale": "en-GB"})
    assert english.language is Language.EN
    pickup = order(delivery={"method": "pickup", "pickup_location_code": "STORE-1"})
    assert pickup.shipping_address is None and pickup.pickup_location == "STORE-1"


def test_shipped_names_the_lines_and_drops_a_link_that_is_not_a_web_link() -> None:
    data = {**EVENTS[K.SHIPPED][1], "tracking_url": "javascript:alert(1)"}
    context = context_for(K.SHIPPED, data, order())
    assert context["tracking_url"] is None
    assert context["lines"] == [{"name": "Mug", "quantity": 2}]
    assert context["carrier"] == "dhl" and context["tracking_number"] == "0034"


def test_a_part_known_from_an_earlier_event_names_its_units() -> None:
    o = order()
    o = CustomerOrder(**{**vars(o), "parts": {"return:R1": {"L2": 1}}})
    context = context_for(K.RETURN_APPROVED, EVENTS[K.RETURN_APPROVED][1], o)
    assert context["lines"] == [{"name": "TOWEL", "quantity": 1}]


def test_transient_failures_back_off_doubling_up_to_the_longest_then_stop() -> None:
    policy = RetryPolicy(first=timedelta(seconds=30), longest=timedelta(minutes=3), max_attempts=5)
    delays = [retry_after(n, policy) for n in range(1, 6)]
    assert delays == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=180),
        None,
    ]
