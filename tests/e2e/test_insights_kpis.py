"""The KPI figures of a scenario with known answers, on the running stack: 10 orders, of which
2 are split across two warehouses, 1 held by hand and 3 returned, give insights' `rates` and
`summary` a split rate of 0.2, a hold rate of 0.1 and a return rate of 0.3 exactly.

The channels are order-capture's fixed list, so the test cannot have one of its own: it asks
for the period from its first order's placement to just after its last one, which holds its
orders only (one pytest process runs one test at a time on its stack)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.e2e.conftest import Stack
from tests.e2e.orchestration_flows import HAMBURG, MUNICH, World
from tests.e2e.test_returns import Returns
from tests.support.api import Api
from tests.support.polling import eventually


async def test_ten_orders_two_split_one_held_three_returned_give_the_rates_exactly(
    stack: Stack, http: httpx.AsyncClient, urls: dict[str, str], api: Api
) -> None:
    w = World(http, urls, api)
    rt = Returns(w)
    lamp, shade, ghost = w.sku("LAMP"), w.sku("SHADE"), w.sku("GHOST")
    await w.location("WH-KPI-HAM", HAMBURG, stock={lamp: 50})
    await w.location("WH-KPI-MUC", MUNICH, stock={shade: 50})

    # Only Munich has shades: an order of both ships from both warehouses.
    split = [await w.place([(lamp, 1), (shade, 1)]) for _ in range(2)]
    # No location holds the ghost: the order waits to be routed, and is held by hand.
    held = await w.place([(ghost, 1)])
    returned = [await w.place([(lamp, 1)]) for _ in range(3)]
    plain = [await w.place([(lamp, 1)]) for _ in range(4)]
    orders = [*split, held, *returned, *plain]

    await w.saga_reaches(held["id"], "routing")
    hold = await w.hold(held["id"], "the customer asked to wait")
    assert hold["state"] == "on_hold"

    async def deliver_and_return(order: dict[str, Any]) -> None:
        (f,) = await w.open_fulfillments(order["id"], 1)
        await w.ship_all_the_way(f["id"])
        await w.order_reaches(order["id"], "completed")
        line_id = order["lines"][0]["id"]
        body = {
            "lines": [{"line_id": line_id, "quantity": 1, "reason": "damaged"}],
            "method": "mail",
        }
        await rt.open(order, body)

    await asyncio.gather(*(deliver_and_return(order) for order in returned))

    placed = sorted(datetime.fromisoformat(o["created_at"]) for o in orders)
    period = {
        "from": placed[0].isoformat(),
        "to": (placed[-1] + timedelta(seconds=1)).isoformat(),
        "channel": "web",
    }
    kpis = f"{urls['insights']}/v1/kpis"

    async def rates() -> list[dict[str, Any]]:
        r = await http.get(f"{kpis}/rates", params=period)
        assert r.status_code == 200, r.text
        rows: list[dict[str, Any]] = r.json()["rows"]
        return rows

    def totals(rows: list[dict[str, Any]]) -> tuple[int, int, int, int]:
        return (
            sum(r["orders_placed"] for r in rows),
            sum(r["split_orders"] for r in rows),
            sum(r["held_orders"] for r in rows),
            sum(r["returned_orders"] for r in rows),
        )

    rows = await eventually(
        rates, until=lambda rows: totals(rows) == (10, 2, 1, 3), timeout=30, what="the KPIs"
    )
    if len(rows) == 1:  # the whole test within one UTC day (a bucket): its rates are exact
        row = rows[0]
        assert (row["split_rate"], row["hold_rate"], row["return_rate"]) == (0.2, 0.1, 0.3)

    r = await http.get(f"{kpis}/summary", params=period)
    assert r.status_code == 200, r.text
    (summary,) = r.json()["rows"]
    assert summary["orders_placed"] == 10
    assert summary["split_rate"] == 0.2
    assert summary["hold_rate"] == 0.1
    assert summary["return_rate"] == 0.3
    assert summary["cancellation_rate"] == 0.0
    assert summary["order_to_ship_p50_s"] is not None  # the three returned ones shipped
