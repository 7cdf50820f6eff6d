"""The operations console in a real browser (headless chromium, tests/support/browser.py)
against the running stack: an operator logs in with a token, finds an order and reads why it
went where it went, releases a held order, reads the dashboard's charts (the same numbers as the
KPI API), looks at a SKU's stock, and a token narrowed to one channel never sees another's
orders on any page or in any export.

Screenshots of the pages land in .local/screenshots/console-*.png (the issue's closing note
shows them).
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from libs.auth.scopes import Scope
from tests.e2e.conftest import Stack
from tests.e2e.orchestration_flows import BERLIN, HAMBURG, World
from tests.support.api import Api
from tests.support.browser import page_json, page_log, screenshot
from tests.support.kafka import forge_broken_event
from tests.support.orders import order_body
from tests.support.polling import eventually
from tests.support.tokens import token

CHARTS = (
    "orders-by-channel",
    "revenue-by-channel",
    "rates",
    "lead-times",
    "holds-by-reason",
    "returns-by-reason",
    "location-share",
)
KPI_TABLES = (
    "summary",
    "orders",
    "rates",
    "lead-times",
    "backorders",
    "holds",
    "returns",
    "refunds",
    "locations",
    "stock-outs",
)
# What an operator of the back office reads and does (no admin: no dead letters).
OPERATOR_SCOPES = (
    Scope.ORDERS_READ,
    Scope.ORDERS_WRITE,
    Scope.INVENTORY_READ,
    Scope.NOTIFICATIONS_READ,
    Scope.WEBHOOKS_READ,
)


@pytest.fixture
def console(stack: Stack, urls: dict[str, str]) -> str:
    return f"{urls['insights']}/console"


async def log_in(page: Page, console: str, bearer_token: str) -> None:
    await page.goto(f"{console}/login")
    await page.fill("#token", bearer_token)
    await page.click("form.login button[type=submit]")
    await expect(page.locator("#who")).to_be_visible()


async def place_in(
    http: httpx.AsyncClient, urls: dict[str, str], channel: str, lines: list[tuple[str, int]]
) -> dict[str, Any]:
    body = order_body(
        [(sku, n, "10.00") for sku, n in lines],
        channel=channel,
        channel_order_ref=f"CON-{uuid.uuid4().hex[:12]}",
    )
    r = await http.post(
        f"{urls['order_capture']}/v1/orders",
        json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


async def held_by_hand(w: World, http: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    """An order of a SKU no location holds is held: by hand while it waits to be routed, or
    as unroutable once its routing grace ends (whichever comes first, it is on hold)."""
    await eventually(lambda: w.saga(order_id), until=lambda s: s["state"] is not None)
    r = await http.post(
        f"{w.urls['orchestration']}/v1/orders/{order_id}/hold",
        json={"note": "held from the console test"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert r.status_code in (200, 409), r.text  # 409: already held as unroutable
    return await w.saga_reaches(order_id, "on_hold")


async def test_an_operator_finds_an_order_and_reads_its_timeline_and_routing(
    page: Page, console: str, http: httpx.AsyncClient, urls: dict[str, str], api: Api
) -> None:
    w = World(http, urls, api)
    sku = w.sku("CONS")
    near = await w.location("CON-NEAR", BERLIN, stock={sku: 10})
    short = await w.location("CON-SHORT", HAMBURG, stock={sku: 1})  # cannot serve 2
    order = await w.place([(sku, 2)])
    await w.saga_reaches(order["id"], "fulfilling")
    timeline = await eventually(
        lambda: http.get(f"{urls['order_capture']}/v1/orders/{order['id']}/timeline"),
        until=lambda r: r.status_code == 200 and len(r.json()["items"]) >= 2,
        what="the order's timeline",
    )

    await log_in(page, console, token(client_id="console-operator"))
    await page.goto(f"{console}/orders")
    await page.fill("#q", order["order_number"])
    await page.click("form.search button[type=submit]")
    row = page.locator(f'#order-results tr[data-order-id="{order["id"]}"]')
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text(order["channel_order_ref"])
    await screenshot(page, "console-orders")

    await row.get_by_role("link", name=order["order_number"]).click()
    await expect(page.locator("#order-number")).to_have_text(order["order_number"])
    await expect(page.locator("#order-lines tbody tr")).to_have_count(1)
    assert await page.locator("#timeline tbody tr").count() >= len(timeline.json()["items"])
    routing = page.locator("table.routing").first
    chosen = routing.locator(f'tr[data-location="{near}"]')
    await expect(chosen).to_have_class("chosen")
    await expect(chosen).to_contain_text("pass")
    passed_over = routing.locator(f'tr[data-location="{short}"]')
    await expect(passed_over).not_to_have_class("chosen")
    await expect(passed_over.locator("td.covers")).to_have_text("no")
    # One column per hard filter, each verdict written out.
    assert await routing.locator("thead th").count() > 5
    await screenshot(page, "console-order-detail")


async def test_releasing_a_held_order_from_the_exceptions_page_resumes_its_saga(
    page: Page, console: str, http: httpx.AsyncClient, urls: dict[str, str], api: Api
) -> None:
    w = World(http, urls, api)
    sku = w.sku("CONH")
    order = await w.place([(sku, 1)])
    await held_by_hand(w, http, order["id"])
    await w.location("CON-LATE", BERLIN, stock={sku: 3})  # now something can serve it

    await log_in(page, console, token(OPERATOR_SCOPES, client_id="console-operator"))
    await page.goto(f"{console}/exceptions")
    row = page.locator(f'#holds tr[data-order-id="{order["id"]}"]')
    await expect(row).to_have_count(1)
    await screenshot(page, "console-exceptions")
    await row.get_by_role("button", name=f"Release {order['order_number']}").click()
    await expect(page.locator("#done")).to_contain_text(f"{order['order_number']} released")
    await expect(page.locator(f'#holds tr[data-order-id="{order["id"]}"]')).to_have_count(0)
    # An operator without admin is not shown the dead letters.
    await expect(page.locator("#dead-letters")).to_have_count(0)

    saga = await w.saga_reaches(order["id"], "fulfilling")
    assert saga["hold"] is None


async def test_orders_in_review_are_approved_and_rejected_from_the_exceptions_page(
    page: Page, console: str, http: httpx.AsyncClient, urls: dict[str, str], api: Api
) -> None:
    w = World(http, urls, api)
    lamp = w.sku("CONR")
    code = await w.location("CON-REVIEW", BERLIN, stock={lamp: 4})
    async with w.reviewed({"max_risk_score": 80}):  # this buyer's risk score is 95
        approved = await w.place([(lamp, 1)], email="risky.buyer@example.com")
        rejected = await w.place([(lamp, 1)], email="risky.buyer@example.com")
        for order in (approved, rejected):
            held = await w.saga_reaches(order["id"], "on_hold")
            assert held["hold"]["reason"] == "review"

    await log_in(page, console, token(OPERATOR_SCOPES, client_id="console-reviewer"))
    await page.goto(f"{console}/exceptions")
    row = page.locator(f'#holds tr[data-order-id="{approved["id"]}"]')
    await expect(row).to_contain_text("risk score 95 above 80")
    await row.get_by_role("button", name=f"Approve {approved['order_number']}").click()
    await expect(page.locator("#done")).to_have_text(f"{approved['order_number']} approved.")
    await expect(page.locator(f'#holds tr[data-order-id="{approved["id"]}"]')).to_have_count(0)

    row = page.locator(f'#holds tr[data-order-id="{rejected["id"]}"]')
    await row.get_by_label(f"Why reject {rejected['order_number']}").fill("card holder unreachable")
    await row.get_by_role("button", name=f"Reject {rejected['order_number']}").click()
    await expect(page.locator("#done")).to_have_text(f"{rejected['order_number']} rejected.")
    await expect(page.locator(f'#holds tr[data-order-id="{rejected["id"]}"]')).to_have_count(0)

    (shipping,) = await w.open_fulfillments(approved["id"], 1)
    assert shipping["location_code"] == code
    await w.order_reaches(rejected["id"], "cancelled")
    timeline = await http.get(f"{urls['order_capture']}/v1/orders/{rejected['id']}/timeline")
    assert "rejected in review: card holder unreachable" in str(timeline.json()["items"])


async def test_an_admin_reads_a_dead_letter_s_error_and_redrives_it(
    page: Page, console: str, http: httpx.AsyncClient, urls: dict[str, str]
) -> None:
    marker = f"console-dead-{uuid.uuid4()}"
    letters = f"{urls['insights']}/v1/dead-letters"
    await forge_broken_event(marker)

    async def orchestrations() -> list[dict[str, Any]]:
        r = await http.get(letters, params={"status": "pending", "limit": 200})
        assert r.status_code == 200, r.text
        return [
            item
            for item in r.json()["items"]
            if item["key"] == marker and item["consumer"] == "orchestration"
        ]

    (letter,) = await eventually(orchestrations, timeout=45, what="orchestration's dead letter")

    await log_in(page, console, token(client_id="console-admin"))
    await page.goto(f"{console}/exceptions")
    row = page.locator(f'#dead-letters tr[data-dead-letter="{letter["id"]}"]')
    await expect(row).to_contain_text(marker)
    # The consumer's error (a contract check's, pages long): its start, the whole on demand.
    error = row.locator("td.error")
    await expect(error.locator("summary")).to_have_text(letter["error"][:160] + "…")
    await expect(error.locator(".error-text")).to_be_hidden()
    await error.locator("summary").click()
    await expect(error.locator(".error-text")).to_have_text(letter["error"])
    await expect(error.locator(".error-text")).to_be_visible()
    await screenshot(page, "console-exceptions-dead-letters")
    await row.get_by_role("button", name="Re-drive").click()
    await expect(page.locator("#done")).to_have_text("dead letter oms.order.placed re-driven.")
    await expect(
        page.locator(f'#dead-letters tr[data-dead-letter="{letter["id"]}"]')
    ).to_have_count(0)

    detail = (await http.get(f"{letters}/{letter['id']}")).json()
    assert (detail["status"], detail["redrive_count"]) == ("redriven", 1)


async def test_the_dashboard_draws_the_kpi_apis_numbers(
    page: Page, console: str, http: httpx.AsyncClient, urls: dict[str, str], api: Api
) -> None:
    w = World(http, urls, api)
    sku = w.sku("COND")
    await w.location("CON-DASH", BERLIN, stock={sku: 5})
    await w.place([(sku, 1)])
    await log_in(page, console, token(client_id="console-manager"))

    async def shown_and_answered() -> tuple[dict[str, Any], dict[str, Any]]:
        """The page's tables and the API's for the page's own period (the projection may
        still be counting the last orders: then both are read again)."""
        await page.goto(f"{console}/dashboard?days=7")
        for chart in CHARTS:
            await page.wait_for_function(
                "id => Chart.getChart(document.getElementById(id)) !== undefined",
                arg=f"chart-{chart}",
            )
        shown = {table: await page_json(page, f"kpi-{table}") for table in ("orders", "summary")}
        period = {k: shown["orders"][k] for k in ("from", "to", "granularity")}
        answered = {}
        for table in ("orders", "summary"):
            r = await http.get(f"{urls['insights']}/v1/kpis/{table}", params=period)
            assert r.status_code == 200, r.text
            answered[table] = r.json()
        return shown, answered

    _, answered = await eventually(
        shown_and_answered,
        until=lambda pair: (
            pair[0] == pair[1] and sum(r["orders_placed"] for r in pair[0]["orders"]["rows"]) > 0
        ),
        timeout=30,
        what="the dashboard and the KPI API to agree",
    )
    rows = answered["orders"]["rows"]
    assert answered["summary"]["rows"][0]["orders_placed"] == sum(r["orders_placed"] for r in rows)
    drawn = await page.evaluate(
        """() => {
            const chart = Chart.getChart(document.getElementById("chart-orders-by-channel"));
            return {labels: chart.data.labels,
                    datasets: chart.data.datasets.map(d => ({label: d.label, data: d.data}))};
        }"""
    )
    periods = sorted({r["period_start"] for r in rows})
    channels = sorted({r["channel"] for r in rows})
    assert drawn == {
        "labels": periods,
        "datasets": [
            {
                "label": channel,
                "data": [
                    sum(
                        r["orders_placed"]
                        for r in rows
                        if r["period_start"] == p and r["channel"] == channel
                    )
                    for p in periods
                ],
            }
            for channel in channels
        ],
    }
    tile = page.locator('#tiles li[data-kpi="orders_placed"] .value')
    await expect(tile).to_have_text(str(answered["summary"]["rows"][0]["orders_placed"]))
    await screenshot(page, "console-dashboard")


async def test_the_stock_page_shows_a_sku_across_locations_with_its_ledger(
    page: Page, console: str, http: httpx.AsyncClient, urls: dict[str, str], api: Api
) -> None:
    w = World(http, urls, api)
    sku = w.sku("CONK")
    code = await w.location("CON-STOCK", BERLIN, stock={sku: 7})
    await w.inbound(code, sku, 4, in_days=3)
    order = await w.place([(sku, 2)])
    await w.saga_reaches(order["id"], "fulfilling")
    await w.stock_settles(code, sku, (7, 2))
    movements = (await http.get(f"{urls['inventory']}/v1/stock/{sku}/movements")).json()

    await log_in(page, console, token(OPERATOR_SCOPES, client_id="console-planner"))
    await page.goto(f"{console}/stock")
    await page.fill("#sku", sku)
    await page.click("form.search button[type=submit]")
    row = page.locator(f'#stock-locations tr[data-location="{code}"]')
    # on hand, reserved, safety stock, available, incoming
    await expect(row.locator("td")).to_have_text(["7", "2", "0", "5", "4"])
    await expect(page.locator("#ledger tbody tr")).to_have_count(len(movements["items"]))
    await expect(page.locator("#low-stock")).to_be_visible()
    await screenshot(page, "console-stock")


@pytest.mark.js_errors_allowed  # the browser logs the 404 of another channel's order page
async def test_a_token_narrowed_to_one_channel_sees_no_other_channel_anywhere(
    page: Page, console: str, http: httpx.AsyncClient, urls: dict[str, str], api: Api
) -> None:
    w = World(http, urls, api)
    served, unserved = w.sku("CONA"), w.sku("CONB")
    await w.location("CON-NARROW", BERLIN, stock={served: 20})
    ours = await place_in(http, urls, "web", [(served, 1)])
    theirs = await place_in(http, urls, "marketplace", [(served, 1)])
    theirs_held = await place_in(http, urls, "marketplace", [(unserved, 1)])
    await held_by_hand(w, http, theirs_held["id"])
    # The other channel's figures are there to be hidden: the back office sees them.
    await eventually(
        lambda: http.get(f"{urls['insights']}/v1/kpis/orders"),
        until=lambda r: (
            r.status_code == 200
            and any(row["channel"] == "marketplace" for row in r.json()["rows"])
        ),
        what="marketplace orders in the KPIs",
    )
    hidden = (theirs["order_number"], theirs_held["order_number"], theirs["id"])

    await log_in(page, console, token(OPERATOR_SCOPES, channels=["web"], client_id="console-web"))
    await expect(page.locator("#narrowing")).to_contain_text("channels: web")

    async def shows_no_other_channel() -> None:
        # What the page shows (a search box's own value is not shown content).
        content = await page.locator("body").inner_text()
        for value in hidden:
            assert value not in content, f"{value} on {page.url}"
        for channel in await page.locator("[data-channel]").evaluate_all(
            "rows => rows.map(r => r.dataset.channel)"
        ):
            assert channel == "web", page.url

    today = datetime.now(UTC).date().isoformat()
    await page.goto(f"{console}/orders?from={today}")
    await expect(page.locator(f'#order-results tr[data-order-id="{ours["id"]}"]')).to_have_count(1)
    await shows_no_other_channel()
    for q in (theirs["order_number"], theirs["channel_order_ref"], "ada@example.com"):
        await page.goto(f"{console}/orders?q={q}")
        await expect(page.locator("#order-results")).to_be_visible()
        await shows_no_other_channel()

    response = await page.goto(f"{console}/orders/{theirs['id']}")
    assert response is not None and response.status == 404
    await shows_no_other_channel()

    for path in ("/exceptions", "/dashboard?days=7", f"/stock?sku={served}"):
        await page.goto(f"{console}{path}")
        await shows_no_other_channel()
    for table in KPI_TABLES:
        if await page.locator(f"#kpi-{table}").count():
            for row in (await page_json(page, f"kpi-{table}"))["rows"]:
                assert row.get("channel", "web") == "web", (table, row)

    for table in (*KPI_TABLES, "low-stock"):
        r = await page.request.get(f"{console}/exports/{table}.csv?from={today}T00:00:00Z")
        assert r.status == 200, (table, await r.text())
        assert r.headers["content-disposition"] == f'attachment; filename="{table}.csv"'
        rows = list(csv.DictReader(io.StringIO(await r.text())))
        assert all(row.get("channel", "web") == "web" for row in rows), (table, rows)
    assert page_log(page).page_errors == []
