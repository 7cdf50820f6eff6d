"""`GET /metrics` of running services after an order: the request histogram by route template,
the outbox read at scrape time, the events the relay published, the consumer's counts and lag
(libs.observability.metrics); orchestration's sagas by state and notifications' customer
messages and pending deliveries (each service's own families)."""

from __future__ import annotations

import httpx

from services.orchestration.adapters.metrics import UNDER_WAY
from tests.e2e.conftest import Stack
from tests.e2e.flows import place_order, random_sku, set_stock, wait_for_status
from tests.support.metrics import Samples, scrape, value
from tests.support.polling import eventually


async def test_the_services_count_an_order_on_their_metrics_endpoints(
    stack: Stack, http: httpx.AsyncClient, urls: dict[str, str]
) -> None:
    sku = random_sku("GAUGE")
    await set_stock(http, urls, location="WH-BER", sku=sku, on_hand=5)
    order = await place_order(http, urls, lines=[(sku, 1)])
    await wait_for_status(http, urls, order["id"], "confirmed")
    assert (await http.get(f"{urls['order_capture']}/v1/orders/{order['id']}")).status_code == 200

    def placed_published(samples: Samples) -> bool:
        return (value(samples, "oms_events_published_total", type="oms.order.placed") or 0) >= 1

    capture = await eventually(
        lambda: scrape(urls["order_capture"]),
        until=placed_published,
        what="order-capture's relay to count the placed event",
    )
    placed = value(
        capture,
        "oms_http_request_duration_seconds_count",
        method="POST",
        route="/v1/orders",
        status="201",
    )
    assert placed is not None and placed >= 1
    read = value(
        capture,
        "oms_http_request_duration_seconds_count",
        method="GET",
        route="/v1/orders/{order_id}",
        status="200",
    )
    assert read is not None and read >= 1
    by_channel = value(capture, "oms_orders_placed_total", channel="web")
    assert by_channel is not None and by_channel >= 1
    # A route's template, never a raw path: no series names the order.
    assert not any(order["id"] in dict(labels).get("route", "") for _, labels in capture)
    assert value(capture, "oms_outbox_query_success") == 1
    backlog = value(capture, "oms_outbox_backlog")
    age = value(capture, "oms_outbox_oldest_age_seconds")
    assert backlog is not None and backlog >= 0 and age is not None and age >= 0

    # Orchestration consumed the placed order, routed it and asked inventory to reserve.
    def lag_reported(samples: Samples) -> bool:
        lag = value(samples, "oms_consumer_lag", topic="oms.order.events", partition="0")
        return lag is not None

    orchestration = await eventually(
        lambda: scrape(urls["orchestration"]),
        until=lag_reported,
        what="orchestration's consumer to report its lag",
    )
    handled = value(orchestration, "oms_consumer_records_handled_total", topic="oms.order.events")
    timed = value(orchestration, "oms_consumer_handle_seconds_count", topic="oms.order.events")
    assert handled is not None and handled >= 1 and timed == handled
    seconds = value(orchestration, "oms_consumer_handle_seconds_sum", topic="oms.order.events")
    assert seconds is not None and 0 < seconds < 60 * handled
    routed = value(
        orchestration, "oms_events_published_total", type="oms.orchestration.order_routed"
    )
    assert routed is not None and routed >= 1
    lags = [
        v
        for (name, labels), v in orchestration.items()
        if name == "oms_consumer_lag" and ("topic", "oms.order.events") in labels
    ]
    assert lags and all(lag >= 0 for lag in lags)
    assert value(orchestration, "oms_outbox_query_success") == 1
    # Read when scraped: every state under way, the confirmed order's saga among the fulfilling.
    assert value(orchestration, "oms_sagas_query_success") == 1
    states = {dict(labels)["state"] for name, labels in orchestration if name == "oms_sagas"}
    assert states == set(UNDER_WAY)
    fulfilling = value(orchestration, "oms_sagas", state="fulfilling")
    assert fulfilling is not None and fulfilling >= 1
    unchanged = value(orchestration, "oms_saga_oldest_unchanged_seconds", state="fulfilling")
    assert unchanged is not None and unchanged >= 0

    # Notifications sent the order's confirmation e-mail, and reads its backlog when scraped.
    def confirmation_counted(samples: Samples) -> bool:
        sent = value(
            samples,
            "oms_customer_messages_total",
            medium="email",
            kind="order_confirmed",
            outcome="sent",
        )
        return (sent or 0) >= 1

    notifications = await eventually(
        lambda: scrape(urls["notifications"]),
        until=confirmation_counted,
        what="notifications to count the confirmation e-mail it sent",
    )
    assert value(notifications, "oms_deliveries_query_success") == 1
    for gauge in (
        "oms_webhook_deliveries_pending",
        "oms_webhook_delivery_oldest_pending_age_seconds",
        "oms_customer_messages_pending",
        "oms_customer_message_oldest_pending_age_seconds",
    ):
        found = value(notifications, gauge)
        assert found is not None and found >= 0, gauge
