"""A crafted set of events with controlled times, produced to real Kafka topics and consumed by
insights' own consumer into its projection, gives exactly the figures worked out by hand for
every table, as JSON and as CSV; delivered again, it changes nothing; rebuilt from the topics,
the projection gives the same figures; a token narrowed to a channel sees none of another's.

The scenario (period 2025-01-05 to 2025-01-07, by day):
  web (EUR), placed 2025-01-05:
    O1 10:00 100.00, 2 x A: one plan at WH1, shipped 12:00 (2 A) from WH1, delivered the next
       day 10:00; a return of 1 A (damaged) asked 01-07 10:00, refunded 50.00 at 12:00.
       Its shipment is sent before its placement.
    O2 11:00 50.50, 1 A + 1 B: a plan at WH1 and ST1 (split); dispatch overdue 14:00;
       shipped 15:00 (1 A) from WH1 and 17:00 (1 B) from ST1; only the first delivered.
    O3 13:00 20.00: held for review 13:01, cancelled 14:00.
    O4 14:00 30.00: backordered (reservation 14:01), allocated the next day 14:01.
  pos (USD), placed 2025-01-06:
    O5 09:00 10.00, 3 x B: held payment_declined 09:10; collected at ST1 10:00.
  stock: A at WH1 5 -> 0 (01-05 16:00) -> 3 -> 0 (01-06 08:00): two stock-outs; B at ST1 first
    seen at 0 (not a fall); C at WH1 2 with a low-stock threshold of 4; B's threshold 5.
  locations: WH1 10 fulfilment orders a day, ST1 no limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from libs.contracts import inventory as inv
from libs.contracts import orchestration as orc
from libs.contracts import order as ord_
from libs.contracts import returns as ret
from libs.contracts.base import IntegrationEvent
from libs.messaging.envelope import TYPE_HEADER
from libs.messaging.kafka import make_producer
from libs.registry import service
from libs.runtime import ServiceContainer
from services.insights.adapters.rebuild import rebuild, rewind_offsets
from services.insights.config import InsightsSettings
from tests.insights.integration.conftest import Client
from tests.support.environment import BOOTSTRAP_SERVERS
from tests.support.events import envelope_of
from tests.support.kafka import consumed_to_end
from tests.support.polling import eventually

D1 = datetime(2025, 1, 5, tzinfo=UTC)
D2 = D1 + timedelta(days=1)
D3 = D1 + timedelta(days=2)
PERIOD = {"from": "2025-01-05T00:00:00Z", "to": "2025-01-07T00:00:00Z"}
GROUP = service("insights").consumer_group
TOPICS = list(service("insights").consumes)
K = "/v1/kpis"


def h(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day + timedelta(hours=hour, minutes=minute)


Sent = tuple[IntegrationEvent, datetime, str]


def _placed(
    order_id: str,
    channel: str,
    currency: str,
    total: str,
    at: datetime,
    lines: list[tuple[str, str, int]],
) -> ord_.OrderPlaced:
    return ord_.OrderPlaced(
        order_id=order_id,
        order_number=f"OMS-{order_id[:8]}",
        channel=channel,
        channel_order_ref=order_id,
        currency=currency,
        customer_email="ada@example.com",
        lines=[
            ord_.PlacedOrderLine(line_id=lid, sku=sku, quantity=q, unit_price=Decimal("1"))
            for lid, sku, q in lines
        ],
        total_amount=Decimal(total),
        placed_at=at,
    )


def _part(location: str, sku: str) -> orc.RoutedPart:
    return orc.RoutedPart(
        location_code=location, lines=[orc.SkuLineQuantity(line_id="L1", sku=sku, quantity=1)]
    )


def _shipped(
    order_id: str, shipment: str, location: str, at: datetime, lines: list[tuple[str, int]]
) -> orc.FulfillmentShipped:
    return orc.FulfillmentShipped(
        order_id=order_id,
        fulfillment_id=f"F-{shipment}",
        location_code=location,
        shipment_id=shipment,
        carrier="dhl",
        tracking_number=shipment,
        lines=[orc.LineQuantity(line_id=lid, quantity=q) for lid, q in lines],
        shipped_at=at,
    )


def _created(order_id: str, fulfilment: str, location: str, at: datetime) -> orc.FulfillmentCreated:
    return orc.FulfillmentCreated(
        order_id=order_id,
        fulfillment_id=fulfilment,
        location_code=location,
        lines=[orc.LineQuantity(line_id="L1", quantity=1)],
        created_at=at,
    )


def _stock(sku: str, location: str, available: int, at: datetime) -> Sent:
    event = inv.StockChanged(
        sku=sku,
        location_code=location,
        on_hand=available,
        reserved=0,
        safety_stock=0,
        available=available,
        network_available=available,
        reasons=["adjustment"],
    )
    return (event, at, str(uuid.uuid4()))


def _location(code: str, capacity: int | None) -> inv.LocationChanged:
    return inv.LocationChanged(
        code=code,
        change="created",
        name=code,
        type="warehouse",
        active=True,
        capabilities=["ship"],
        address=inv.LocationAddress(
            line1="1 Road", city="Berlin", postal_code="10115", country="DE"
        ),
        priority=1,
        daily_order_capacity=capacity,
        processing_days=1,
        timezone="Europe/Berlin",
        location_version=1,
    )


def scenario() -> list[Sent]:
    o1, o2, o3, o4, o5 = (str(uuid.uuid4()) for _ in range(5))
    events: list[tuple[IntegrationEvent, datetime]] = [
        # O1: its shipment comes before its placement.
        (_shipped(o1, f"S1-{o1}", "WH1", h(D1, 12), [("L1", 2)]), h(D1, 12)),
        (_placed(o1, "web", "EUR", "100.00", h(D1, 10), [("L1", "A", 2)]), h(D1, 10)),
        (
            orc.OrderRouted(
                order_id=o1,
                decision_id="d1",
                reservation_id="r1",
                parts=[_part("WH1", "A")],
                routed_at=h(D1, 10, 1),
            ),
            h(D1, 10, 1),
        ),
        (_created(o1, f"F1-{o1}", "WH1", h(D1, 10, 5)), h(D1, 10, 5)),
        (
            orc.FulfillmentDelivered(
                order_id=o1,
                fulfillment_id=f"F1-{o1}",
                location_code="WH1",
                shipment_id=f"S1-{o1}",
                lines=[orc.LineQuantity(line_id="L1", quantity=2)],
                delivered_at=h(D2, 10),
            ),
            h(D2, 10),
        ),
        (
            ret.ReturnRequested(
                order_id=o1,
                return_id=f"R1-{o1}",
                rma_number="RMA1",
                method="mail",
                resolution="refund",
                lines=[ret.RequestedLine(line_id="L1", sku="A", quantity=1, reason="damaged")],
                needs_review=False,
                requested_at=h(D3, 10),
            ),
            h(D3, 10),
        ),
        (
            ret.ReturnRefunded(
                order_id=o1,
                return_id=f"R1-{o1}",
                rma_number="RMA1",
                refund_id=f"RF1-{o1}",
                method="payment",
                amount=Decimal("50.00"),
                currency="EUR",
                lines=[ret.RefundLine(line_id="L1", quantity=1)],
                refunded_at=h(D3, 12),
            ),
            h(D3, 12),
        ),
        # O2: split, late, half delivered.
        (
            _placed(o2, "web", "EUR", "50.50", h(D1, 11), [("L1", "A", 1), ("L2", "B", 1)]),
            h(D1, 11),
        ),
        (
            orc.OrderRouted(
                order_id=o2,
                decision_id="d2",
                reservation_id="r2",
                parts=[_part("WH1", "A"), _part("ST1", "B")],
                routed_at=h(D1, 11, 1),
            ),
            h(D1, 11, 1),
        ),
        (_created(o2, f"F2-{o2}", "WH1", h(D1, 11, 5)), h(D1, 11, 5)),
        (_created(o2, f"F3-{o2}", "ST1", h(D1, 11, 5)), h(D1, 11, 5)),
        (
            orc.OrderDelayed(
                order_id=o2,
                delay_id="late",
                reason_code="dispatch_overdue",
                reason="late",
                lines=[orc.SkuLineQuantity(line_id="L1", sku="A", quantity=1)],
                delayed_at=h(D1, 14),
            ),
            h(D1, 14),
        ),
        (_shipped(o2, f"S2-{o2}", "WH1", h(D1, 15), [("L1", 1)]), h(D1, 15)),
        (_shipped(o2, f"S3-{o2}", "ST1", h(D1, 17), [("L2", 1)]), h(D1, 17)),
        (
            orc.FulfillmentDelivered(
                order_id=o2,
                fulfillment_id=f"F2-{o2}",
                location_code="WH1",
                shipment_id=f"S2-{o2}",
                lines=[orc.LineQuantity(line_id="L1", quantity=1)],
                delivered_at=h(D2, 12),
            ),
            h(D2, 12),
        ),
        # O3: held for review, then cancelled.
        (_placed(o3, "web", "EUR", "20.00", h(D1, 13), [("L1", "A", 1)]), h(D1, 13)),
        (
            orc.OrderOnHold(
                order_id=o3,
                hold_id=f"H-{o3}",
                reason="review",
                reason_code="review",
                held_at=h(D1, 13, 1),
            ),
            h(D1, 13, 1),
        ),
        (
            ord_.OrderCancelled(
                order_id=o3, order_number="N3", sequence=3, reason="fraud", cancelled_at=h(D1, 14)
            ),
            h(D1, 14),
        ),
        # O4: backordered for a day.
        (_placed(o4, "web", "EUR", "30.00", h(D1, 14), [("L1", "A", 1)]), h(D1, 14)),
        (
            inv.ReservationConfirmed(
                order_id=o4,
                reservation_id=f"RS-{o4}",
                lines=[
                    inv.ReservedLine(
                        sku="A", location_code="WH1", quantity=1, held=0, backordered=1
                    )
                ],
            ),
            h(D1, 14, 1),
        ),
        (
            inv.BackorderAllocated(
                order_id=o4,
                reservation_id=f"RS-{o4}",
                allocation_id="a1",
                lines=[inv.StockLine(sku="A", location_code="WH1", quantity=1)],
                still_backordered=0,
            ),
            h(D2, 14, 1),
        ),
        # O5 (pos): held for a declined payment, collected.
        (_placed(o5, "pos", "USD", "10.00", h(D2, 9), [("L1", "B", 3)]), h(D2, 9)),
        (
            orc.OrderOnHold(
                order_id=o5,
                hold_id=f"H-{o5}",
                reason="declined",
                reason_code="payment_declined",
                held_at=h(D2, 9, 10),
            ),
            h(D2, 9, 10),
        ),
        (_created(o5, f"F5-{o5}", "ST1", h(D2, 9, 30)), h(D2, 9, 30)),
        (
            orc.FulfillmentCollected(
                order_id=o5,
                fulfillment_id=f"F5-{o5}",
                location_code="ST1",
                shipment_id=f"S5-{o5}",
                lines=[orc.LineQuantity(line_id="L1", quantity=3)],
                collected_at=h(D2, 10),
            ),
            h(D2, 10),
        ),
        # Locations and stock.
        (_location("WH1", 10), h(D1, 0)),
        (_location("ST1", None), h(D1, 0)),
        (inv.LowStock(sku="B", available=0, threshold=5), h(D1, 9)),
        (inv.LowStock(sku="C", available=2, threshold=4), h(D1, 9, 5)),
    ]
    sent: list[Sent] = [(e, at, str(uuid.uuid4())) for e, at in events]
    sent += [
        _stock("A", "WH1", 5, h(D1, 8)),
        _stock("A", "WH1", 0, h(D1, 16)),
        _stock("A", "WH1", 3, h(D1, 20)),
        _stock("A", "WH1", 0, h(D2, 8)),
        _stock("B", "ST1", 0, h(D1, 9)),
        _stock("C", "WH1", 2, h(D1, 9)),
    ]
    return sent


@contextlib.asynccontextmanager
async def consuming(container: ServiceContainer) -> AsyncIterator[None]:
    assert container.consumer is not None
    task = asyncio.create_task(container.consumer.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def produce(prefix: str, events: list[Sent]) -> None:
    producer: AIOKafkaProducer = make_producer(
        bootstrap_servers=BOOTSTRAP_SERVERS, client_id="kpi-test"
    )
    await producer.start()
    try:
        for event, at, event_id in events:
            envelope = envelope_of(event, at=at, event_id=event_id)
            await producer.send_and_wait(
                prefix + event.topic,
                envelope.to_bytes(),
                key=event.partition_key.encode(),
                headers=[(TYPE_HEADER, event.event_type.encode())],
            )
    finally:
        await producer.stop()


EXPECTED: dict[str, Any] = {
    "summary": [
        {
            "orders_placed": 5,
            "split_rate": 0.2,
            "backorder_rate": 0.2,
            "hold_rate": 0.4,
            "cancellation_rate": 0.2,
            "return_rate": 0.2,
            "on_time_dispatch_rate": 0.6667,
            "order_to_ship_p50_s": 7200.0,
            "order_to_ship_p90_s": 12960.0,
            "order_to_delivery_p50_s": 45000.0,
            "order_to_delivery_p90_s": 78120.0,
            "refund_time_p50_s": 7200.0,
            "refund_time_p90_s": 7200.0,
        }
    ],
    "orders": [
        {
            "period_start": "2025-01-05T00:00:00Z",
            "channel": "web",
            "currency": "EUR",
            "orders_placed": 4,
            "revenue": "200.50",
        },
        {
            "period_start": "2025-01-06T00:00:00Z",
            "channel": "pos",
            "currency": "USD",
            "orders_placed": 1,
            "revenue": "10.00",
        },
    ],
    "rates": [
        {
            "period_start": "2025-01-05T00:00:00Z",
            "channel": "web",
            "orders_placed": 4,
            "split_orders": 1,
            "split_rate": 0.25,
            "backordered_orders": 1,
            "backorder_rate": 0.25,
            "held_orders": 1,
            "hold_rate": 0.25,
            "cancelled_orders": 1,
            "cancellation_rate": 0.25,
            "returned_orders": 1,
            "return_rate": 0.25,
        },
        {
            "period_start": "2025-01-06T00:00:00Z",
            "channel": "pos",
            "orders_placed": 1,
            "split_orders": 0,
            "split_rate": 0.0,
            "backordered_orders": 0,
            "backorder_rate": 0.0,
            "held_orders": 1,
            "hold_rate": 1.0,
            "cancelled_orders": 0,
            "cancellation_rate": 0.0,
            "returned_orders": 0,
            "return_rate": 0.0,
        },
    ],
    "lead-times": [
        {
            "period_start": "2025-01-05T00:00:00Z",
            "channel": "web",
            "orders_shipped": 2,
            "order_to_ship_p50_s": 10800.0,
            "order_to_ship_p90_s": 13680.0,
            "dispatched_on_time": 1,
            "on_time_dispatch_rate": 0.5,
            "orders_delivered": 1,
            "order_to_delivery_p50_s": 86400.0,
            "order_to_delivery_p90_s": 86400.0,
        },
        {
            "period_start": "2025-01-06T00:00:00Z",
            "channel": "pos",
            "orders_shipped": 1,
            "order_to_ship_p50_s": 3600.0,
            "order_to_ship_p90_s": 3600.0,
            "dispatched_on_time": 1,
            "on_time_dispatch_rate": 1.0,
            "orders_delivered": 1,
            "order_to_delivery_p50_s": 3600.0,
            "order_to_delivery_p90_s": 3600.0,
        },
    ],
    "backorders": [
        {
            "period_start": "2025-01-05T00:00:00Z",
            "channel": "web",
            "backordered_orders": 1,
            "backorder_wait_p50_s": 86400.0,
            "backorder_wait_p90_s": 86400.0,
            "still_waiting": 0,
        },
    ],
    "holds": [
        {"reason": "payment_declined", "channel": "pos", "held_orders": 1, "hold_rate": 1.0},
        {"reason": "review", "channel": "web", "held_orders": 1, "hold_rate": 0.25},
    ],
    "returns": [
        {
            "sku": "A",
            "reason": "damaged",
            "returned_units": 1,
            "shipped_units": 3,
            "return_rate": 0.3333,
        },
    ],
    "refunds": [
        {
            "period_start": "2025-01-05T00:00:00Z",
            "channel": "web",
            "currency": "EUR",
            "refunds": 1,
            "refunded_amount": "50.00",
            "refund_time_p50_s": 7200.0,
            "refund_time_p90_s": 7200.0,
        },
    ],
    "locations": [
        {
            "location": "ST1",
            "fulfilments": 2,
            "share": 0.5,
            "units_shipped": 4,
            "capacity_use": None,
        },
        {
            "location": "WH1",
            "fulfilments": 2,
            "share": 0.5,
            "units_shipped": 3,
            "capacity_use": 0.1,
        },
    ],
    "stock-outs": [
        {"period_start": "2025-01-05T00:00:00Z", "sku": "A", "location": "WH1", "stock_outs": 1},
        {"period_start": "2025-01-06T00:00:00Z", "sku": "A", "location": "WH1", "stock_outs": 1},
    ],
}
EXPECTED_LOW_STOCK = [
    {
        "sku": "A",
        "location": "WH1",
        "available": 0,
        "threshold": None,
        "out_of_stock": True,
        "since": "2025-01-06T08:00:00Z",
    },
    {
        "sku": "B",
        "location": "ST1",
        "available": 0,
        "threshold": 5,
        "out_of_stock": True,
        "since": "2025-01-05T09:00:00Z",
    },
    {
        "sku": "C",
        "location": "WH1",
        "available": 2,
        "threshold": 4,
        "out_of_stock": False,
        "since": "2025-01-05T09:05:00Z",
    },
]


def _iso(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Date-times as the API writes them may end in Z or +00:00: compare them as instants."""
    out = []
    for row in rows:
        fixed = dict(row)
        for name in ("period_start", "since"):
            if isinstance(fixed.get(name), str):
                fixed[name] = datetime.fromisoformat(fixed[name]).isoformat()
        out.append(fixed)
    return out


async def figures(client: Any, **params: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for table in EXPECTED:
        r = await client.get(f"{K}/{table}", params={**PERIOD, **params})
        assert r.status_code == 200, r.text
        found[table] = _iso(r.json()["rows"])
    r = await client.get(f"{K}/low-stock")
    assert r.status_code == 200, r.text
    found["low-stock"] = _iso(r.json()["rows"])
    return found


def expected() -> dict[str, Any]:
    return {
        **{t: _iso(rows) for t, rows in EXPECTED.items()},
        "low-stock": _iso(EXPECTED_LOW_STOCK),
    }


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.fixture(scope="module")
def sent() -> list[Sent]:
    return scenario()


async def test_every_table_has_exactly_the_figures_of_the_scenario(
    container: ServiceContainer, clients: Client, own_prefix: str, sent: list[Sent]
) -> None:
    client = clients()
    async with consuming(container):
        await produce(own_prefix, sent)
        await consumed_to_end({GROUP: TOPICS}, prefix=own_prefix)
        want = expected()
        await eventually(
            lambda: figures(client),
            until=lambda got: got == want,
            timeout=20,
            what="the scenario's figures",
        )
        got = await figures(client)
        for table in want:
            assert got[table] == want[table], table


async def test_csv_answers_the_same_rows_as_json(clients: Client) -> None:
    client = clients()
    for table in [*EXPECTED, "low-stock"]:
        params = PERIOD if table != "low-stock" else {}
        as_json = (await client.get(f"{K}/{table}", params=params)).json()["rows"]
        r = await client.get(f"{K}/{table}", params=params, headers={"Accept": "text/csv"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert r.headers["content-disposition"] == f'attachment; filename="{table}.csv"'
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == list(as_json[0])
        assert rows[1:] == [[_csv_value(v) for v in row.values()] for row in as_json]


async def test_an_empty_table_in_csv_is_its_header(clients: Client) -> None:
    empty = {"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}
    r = await clients().get(f"{K}/backorders", params=empty, headers={"Accept": "text/csv"})
    assert r.status_code == 200
    assert r.text.strip() == (
        "period_start,channel,backordered_orders,backorder_wait_p50_s,backorder_wait_p90_s,"
        "still_waiting"
    )


async def test_hourly_buckets(clients: Client) -> None:
    r = await clients().get(f"{K}/orders", params={**PERIOD, "granularity": "hour"})
    assert [(row["period_start"][:13], row["orders_placed"]) for row in r.json()["rows"]] == [
        ("2025-01-05T10", 1),
        ("2025-01-05T11", 1),
        ("2025-01-05T13", 1),
        ("2025-01-05T14", 1),
        ("2025-01-06T09", 1),
    ]


async def test_the_same_events_delivered_again_change_nothing(
    container: ServiceContainer, clients: Client, own_prefix: str, sent: list[Sent]
) -> None:
    client = clients()
    async with consuming(container):
        await produce(own_prefix, sent)
        await consumed_to_end({GROUP: TOPICS}, prefix=own_prefix)
        assert await figures(client) == expected()


async def test_a_narrowed_token_sees_only_its_channel_and_locations(clients: Client) -> None:
    pos = clients(channels=["pos"], locations=["ST1"])
    for table in EXPECTED:
        r = await pos.get(f"{K}/{table}", params=PERIOD)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "web" not in r.text and "WH1" not in r.text, table
        as_csv = (await pos.get(f"{K}/{table}", params=PERIOD, headers={"Accept": "text/csv"})).text
        assert "web" not in as_csv and "WH1" not in as_csv, table
        if "channel" in (body["rows"][0] if body["rows"] else {}):
            assert {row["channel"] for row in body["rows"]} == {"pos"}, table
        # Asking for another channel finds nothing (never that channel's rows).
        other = (await pos.get(f"{K}/{table}", params={**PERIOD, "channel": "web"})).json()
        if table == "summary":
            assert other["rows"][0]["orders_placed"] == 0
        elif table != "stock-outs":
            assert other["rows"] == [], table
    summary = (await pos.get(f"{K}/summary", params=PERIOD)).json()["rows"][0]
    assert summary["orders_placed"] == 1 and summary["hold_rate"] == 1.0
    locations = (await pos.get(f"{K}/locations", params=PERIOD)).json()["rows"]
    assert locations == [
        {
            "location": "ST1",
            "fulfilments": 1,
            "share": 1.0,
            "units_shipped": 3,
            "capacity_use": None,
        }
    ]
    low = (await pos.get(f"{K}/low-stock")).json()["rows"]
    assert [(r["sku"], r["location"]) for r in low] == [("B", "ST1")]
    web = clients(channels=["web"])
    rates = (await web.get(f"{K}/rates", params=PERIOD)).json()["rows"]
    assert [r["channel"] for r in rates] == ["web"]


async def test_scopes(clients: Client) -> None:
    orders_only = clients(scopes=["orders:read"])
    assert (await orders_only.get(f"{K}/rates", params=PERIOD)).status_code == 200
    r = await orders_only.get(f"{K}/low-stock")
    assert r.status_code == 403, r.text
    stock_only = clients(scopes=["inventory:read"])
    assert (await stock_only.get(f"{K}/stock-outs", params=PERIOD)).status_code == 200
    assert (await stock_only.get(f"{K}/summary", params=PERIOD)).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2025-01-07T00:00:00Z", "to": "2025-01-05T00:00:00Z"},
        {"from": "2023-01-01T00:00:00Z", "to": "2025-01-05T00:00:00Z"},
        {"from": "2025-01-01T00:00:00Z", "to": "2025-03-01T00:00:00Z", "granularity": "hour"},
    ],
)
async def test_a_period_it_cannot_answer_is_invalid_period(
    clients: Client, params: dict[str, str]
) -> None:
    r = await clients().get(f"{K}/rates", params=params)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid_period"


async def test_the_offsets_of_a_running_consumer_are_not_rewound(
    container: ServiceContainer, settings: InsightsSettings, own_prefix: str
) -> None:
    async def state() -> str:
        admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP_SERVERS)
        await admin.start()
        try:
            (found,) = await admin.describe_consumer_groups([own_prefix + GROUP])
        finally:
            await admin.close()
        group: str = found.to_object()["groups"][0]["state"]
        return group

    async with consuming(container):
        await eventually(state, until=lambda s: s == "Stable", what="the consumer in its group")
        with pytest.raises(KafkaError):
            await rewind_offsets(settings)


async def test_a_rebuild_from_the_topics_gives_the_same_figures(
    container: ServiceContainer, clients: Client, settings: InsightsSettings, own_prefix: str
) -> None:
    client = clients()
    before = await figures(client)
    assert before == expected()
    await rebuild(settings)  # the consumer is stopped (each test above stopped it)
    emptied = await figures(client)
    assert emptied["summary"][0]["orders_placed"] == 0 and emptied["low-stock"] == []
    async with consuming(container):
        await eventually(
            lambda: figures(client),
            until=lambda got: got == before,
            timeout=30,
            what="the rebuilt figures",
        )


async def test_a_date_time_is_rfc_3339_text_not_a_number(clients: Client) -> None:
    r = await clients().get(f"{K}/rates", params={"to": "0.5"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
