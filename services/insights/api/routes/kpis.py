"""The key figures: GET /v1/kpis/<table>, each as JSON or, with `Accept: text/csv`, as CSV
(the same rows, a header line of the row's field names).

Order tables need `orders:read` and cover the caller's channels only (a `channel` outside them
finds nothing, as a narrowed order search does); `locations`, `stock-outs` and `low-stock` need
`inventory:read` and cover the caller's locations only (and, for `locations`, the fulfilments of
its channels' orders)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, BeforeValidator

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import ReadSessionDep
from libs.http.problems import problem_responses
from services.insights.adapters import queries
from services.insights.api.schemas.kpis import (
    BackordersRow,
    BackordersTable,
    HoldsRow,
    HoldsTable,
    LeadTimesRow,
    LeadTimesTable,
    LocationsRow,
    LocationsTable,
    LowStockRow,
    LowStockTable,
    OrdersRow,
    OrdersTable,
    RatesRow,
    RatesTable,
    RefundsRow,
    RefundsTable,
    ReturnsRow,
    ReturnsTable,
    StockOutsRow,
    StockOutsTable,
    SummaryRow,
    SummaryTable,
)
from services.insights.domain.kpis import (
    Granularity,
    Period,
    amount,
    narrowed,
    period,
    rate,
    seconds,
)
from services.insights.domain.kpis import Scope as Covered

router = APIRouter(prefix="/kpis", tags=["kpis"])

OrdersReader = Annotated[Principal, requires(Scope.ORDERS_READ)]
StockReader = Annotated[Principal, requires(Scope.INVENTORY_READ)]

CSV = "text/csv"
ERRORS = problem_responses(401, 403, 422, 503)


def _csv_response(table: str) -> dict[int | str, dict[str, Any]]:
    return {
        **ERRORS,
        200: {
            "description": f"The rows; with `Accept: {CSV}` the same rows as CSV ({table}.csv)",
            "content": {CSV: {"schema": {"type": "string"}}},
        },
    }


# A date-time in the query is RFC 3339 text: pydantic alone would also take a number as Unix
# seconds, which the documented format does not allow.
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?")


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not RFC3339.fullmatch(value):
        raise ValueError("not an RFC 3339 date-time, e.g. 2026-12-01T00:00:00Z")
    return value


From = Annotated[
    datetime | None,
    BeforeValidator(_rfc3339),
    Query(
        alias="from",
        description="Start, inclusive (RFC 3339); default 00:00 UTC seven days before `to`",
    ),
]
To = Annotated[
    datetime | None,
    BeforeValidator(_rfc3339),
    Query(description="End, exclusive (RFC 3339); default now"),
]
Bucket = Annotated[Granularity, Query(description="Bucket size, in UTC")]
Channel = Annotated[str | None, Query(description="Only this channel's rows")]


def _period(
    request: Request, start: datetime | None, end: datetime | None, g: Granularity
) -> Period:
    now = request.app.state.container.clock.now()
    return period(start, end, g, now=now)


B = TypeVar("B", bound=BaseModel)


def _answer(request: Request, table: str, body: B, rows: Sequence[BaseModel]) -> B:
    """The body as JSON, or its rows as CSV when the caller accepts CSV and not JSON first.
    A Response returned by a route goes out as it is (FastAPI validates only the body), hence
    the cast: the declared type is what the JSON answer, and the OpenAPI document, are."""
    accept = request.headers.get("accept", "")
    if CSV in accept and "application/json" not in accept.split(CSV)[0]:
        out = io.StringIO()
        fields = list(type(rows[0]).model_fields) if rows else _fields_of(body)
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(fields)
        for row in rows:
            dumped = row.model_dump(mode="json")
            writer.writerow(
                ["" if dumped[name] is None else _cell(dumped[name]) for name in fields]
            )
        csv_answer = Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{table}.csv"'},
        )
        return cast(B, csv_answer)
    return body


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fields_of(body: BaseModel) -> list[str]:
    # An empty table still names its columns: the row model is the rows field's item type.
    annotation = type(body).model_fields["rows"].annotation
    args = getattr(annotation, "__args__", ())
    item = args[0] if args else None
    return list(item.model_fields) if isinstance(item, type) and issubclass(item, BaseModel) else []


def _table(p: Period, rows: list[Any]) -> dict[str, Any]:
    return {"from": p.start, "to": p.end, "granularity": p.granularity.value, "rows": rows}


def _orders_filter(p: Period, caller: Principal, channel: str | None) -> queries.Filter:
    return queries.Filter(p, narrowed(caller.channels, channel))


def _s(value: Any) -> float | None:
    return seconds(queries.as_float(value))


@router.get(
    "/summary",
    summary="All order figures of the period in one row",
    responses=_csv_response("summary"),
)
async def summary(
    request: Request,
    session: ReadSessionDep,
    caller: OrdersReader,
    start: From = None,
    to: To = None,
    granularity: Bucket = Granularity.DAY,
    channel: Channel = None,
) -> SummaryTable:
    """One row for the whole period: the orders placed in it and what became of them (the
    rates' definitions are those of `rates`, `lead-times` and `refunds`)."""
    p = _period(request, start, to, granularity)
    flt = _orders_filter(p, caller, channel)
    r = await queries.summary(session, flt)
    placed = int(r["placed"])
    row = SummaryRow(
        orders_placed=placed,
        split_rate=rate(r["split"], placed),
        backorder_rate=rate(r["backordered"], placed),
        hold_rate=rate(r["held"], placed),
        cancellation_rate=rate(r["cancelled"], placed),
        return_rate=rate(r["returned"], placed),
        on_time_dispatch_rate=rate(r["on_time"], r["shipped"]),
        order_to_ship_p50_s=_s(r["ship_p50"]),
        order_to_ship_p90_s=_s(r["ship_p90"]),
        order_to_delivery_p50_s=_s(r["delivery_p50"]),
        order_to_delivery_p90_s=_s(r["delivery_p90"]),
        refund_time_p50_s=_s(r["refund_p50"]),
        refund_time_p90_s=_s(r["refund_p90"]),
    )
    body = SummaryTable.model_validate(_table(p, [row]))
    return _answer(request, "summary", body, [row])


@router.get("/orders", summary="Orders placed and revenue", responses=_csv_response("orders"))
async def orders(
    request: Request,
    session: ReadSessionDep,
    caller: OrdersReader,
    start: From = None,
    to: To = None,
    granularity: Bucket = Granularity.DAY,
    channel: Channel = None,
) -> OrdersTable:
    """Per bucket of placement, channel and currency: the orders placed and their grand totals
    (cancelled ones included: what was ordered, not what was kept)."""
    p = _period(request, start, to, granularity)
    found = await queries.orders(session, _orders_filter(p, caller, channel))
    rows = [
        OrdersRow(
            period_start=r["period_start"],
            channel=r["channel"],
            currency=r["currency"],
            orders_placed=r["placed"],
            revenue=amount(queries.as_decimal(r["revenue"])),
        )
        for r in found
    ]
    return _answer(request, "orders", OrdersTable.model_validate(_table(p, rows)), rows)


@router.get(
    "/rates",
    summary="Split, backorder, hold, cancellation and return rates",
    responses=_csv_response("rates"),
)
async def rates(
    request: Request,
    session: ReadSessionDep,
    caller: OrdersReader,
    start: From = None,
    to: To = None,
    granularity: Bucket = Granularity.DAY,
    channel: Channel = None,
) -> RatesTable:
    """Per bucket of placement and channel, of the orders placed: those split (a plan that held
    named two locations or more, or parcels left from two or more), backordered (a reservation
    promised units from incoming stock), held (at least one hold, any reason), cancelled
    (entirely) and returned (at least one return requested and not rejected); each rate is
    that count over the orders placed."""
    p = _period(request, start, to, granularity)
    found = await queries.rates(session, _orders_filter(p, caller, channel))
    rows = [
        RatesRow(
            period_start=r["period_start"],
            channel=r["channel"],
            orders_placed=r["placed"],
            split_orders=r["split"],
            split_rate=rate(r["split"], r["placed"]),
            backordered_orders=r["backordered"],
            backorder_rate=rate(r["backordered"], r["placed"]),
            held_orders=r["held"],
            hold_rate=rate(r["held"], r["placed"]),
            cancelled_orders=r["cancelled"],
            cancellation_rate=rate(r["cancelled"], r["placed"]),
            returned_orders=r["returned"],
            return_rate=rate(r["returned"], r["placed"]),
        )
        for r in found
    ]
    return _answer(request, "rates", RatesTable.model_validate(_table(p, rows)), rows)


@router.get(
    "/lead-times",
    summary="Order-to-ship and order-to-delivery times, on-time dispatch",
    responses=_csv_response("lead-times"),
)
async def lead_times(
    request: Request,
    session: ReadSessionDep,
    caller: OrdersReader,
    start: From = None,
    to: To = None,
    granularity: Bucket = Granularity.DAY,
    channel: Channel = None,
) -> LeadTimesTable:
    """Per bucket of placement and channel: order-to-ship (placement to the first parcel's
    shipment) and order-to-delivery (placement to the last parcel's delivery, once every
    shipped parcel is delivered), p50 and p90 in seconds. Dispatched on time: shipped without
    orchestration having reported the promised dispatch overdue (`order_delayed` with
    `dispatch_overdue`) before the first shipment; the promised time itself is carried by no
    event, so this is the promise as orchestration enforces it."""
    p = _period(request, start, to, granularity)
    found = await queries.lead_times(session, _orders_filter(p, caller, channel))
    rows = [
        LeadTimesRow(
            period_start=r["period_start"],
            channel=r["channel"],
            orders_shipped=r["shipped"],
            order_to_ship_p50_s=_s(r["ship_p50"]),
            order_to_ship_p90_s=_s(r["ship_p90"]),
            dispatched_on_time=r["on_time"],
            on_time_dispatch_rate=rate(r["on_time"], r["shipped"]),
            orders_delivered=r["delivered"],
            order_to_delivery_p50_s=_s(r["delivery_p50"]),
            order_to_delivery_p90_s=_s(r["delivery_p90"]),
        )
        for r in found
    ]
    return _answer(request, "lead-times", LeadTimesTable.model_validate(_table(p, rows)), rows)


@router.get(
    "/backorders",
    summary="Backordered orders and their wait",
    responses=_csv_response("backorders"),
)
async def backorders(
    request: Request,
    session: ReadSessionDep,
    caller: OrdersReader,
    start: From = None,
    to: To = None,
    granularity: Bucket = Granularity.DAY,
    channel: Channel = None,
) -> BackordersTable:
    """Per bucket of placement and channel: the orders with a backorder, the wait from the
    first reservation that promised incoming units to the moment nothing was waited for any
    more (p50, p90; of the orders no longer waiting), and those still waiting."""
    p = _period(request, start, to, granularity)
    found = await queries.backorders(session, _orders_filter(p, caller, channel))
    rows = [
        BackordersRow(
            period_start=r["period_start"],
            channel=r["channel"],
            backordered_orders=r["backordered"],
            backorder_wait_p50_s=_s(r["wait_p50"]),
            backorder_wait_p90_s=_s(r["wait_p90"]),
            still_waiting=r["still_waiting"],
        )
        for r in found
    ]
    return _answer(request, "backorders", BackordersTable.model_validate(_table(p, rows)), rows)


@router.get("/holds", summary="Hold rate by reason", responses=_csv_response("holds"))
async def holds(
    request: Request,
    session: ReadSessionDep,
    caller: OrdersReader,
    start: From = None,
    to: To = None,
    granularity: Bucket = Granularity.DAY,
    channel: Channel = None,
) -> HoldsTable:
    """Per hold reason code and channel, over the whole period: the orders placed in it held
    at least once with that reason, and that count over the orders placed in the period and
    channel."""
    p = _period(request, start, to, granularity)
    found = await queries.holds(session, _orders_filter(p, caller, channel))
    rows = [
        HoldsRow(
            reason=r["reason"],
            channel=r["channel"],
            held_orders=r["held"],
            hold_rate=rate(r["held"], r["placed"]),
        )
        for r in found
    ]
    return _answer(request, "holds", HoldsTable.model_validate(_table(p, rows)), rows)


@router.get("/returns", summary="Return rate by SKU and reason", responses=_csv_response("returns"))
async def returns(
    request: Request,
    session: ReadSessionDep,
    caller: OrdersReader,
    start: From = None,
    to: To = None,
    granularity: Bucket = Granularity.DAY,
    channel: Channel = None,
) -> ReturnsTable:
    """Per SKU and return reason, of the orders placed in the period: the units asked back
    (returns not rejected), the units of that SKU shipped (or collected), and their ratio."""
    p = _period(request, start, to, granularity)
    found = await queries.returns(session, _orders_filter(p, caller, channel))
    rows = [
        ReturnsRow(
            sku=r["sku"],
            reason=r["reason"],
            returned_units=r["returned"],
            shipped_units=r["shipped"],
            return_rate=rate(r["returned"], r["shipped"]),
        )
        for r in found
    ]
    return _answer(request, "returns", ReturnsTable.model_validate(_table(p, rows)), rows)


@router.get("/refunds", summary="Refunds and refund time", responses=_csv_response("refunds"))
async def refunds(
    request: Request,
    session: ReadSessionDep,
    caller: OrdersReader,
    start: From = None,
    to: To = None,
    granularity: Bucket = Granularity.DAY,
    channel: Channel = None,
) -> RefundsTable:
    """Per bucket of placement, channel and currency: the refunds returns paid (money or store
    credit), their amount, and the time from the return's request to each refund (p50, p90)."""
    p = _period(request, start, to, granularity)
    found = await queries.refunds(session, _orders_filter(p, caller, channel))
    rows = [
        RefundsRow(
            period_start=r["period_start"],
            channel=r["channel"],
            currency=r["currency"],
            refunds=r["refunds"],
            refunded_amount=amount(queries.as_decimal(r["amount"])),
            refund_time_p50_s=_s(r["refund_p50"]),
            refund_time_p90_s=_s(r["refund_p90"]),
        )
        for r in found
    ]
    return _answer(request, "refunds", RefundsTable.model_validate(_table(p, rows)), rows)


@router.get("/locations", summary="Fulfilment by location", responses=_csv_response("locations"))
async def locations(
    request: Request,
    session: ReadSessionDep,
    caller: StockReader,
    start: From = None,
    to: To = None,
    granularity: Bucket = Granularity.DAY,
    channel: Channel = None,
) -> LocationsTable:
    """Per location, over the period: the fulfilment orders created there, their share of all
    those shown, the units shipped from it, and its capacity use (fulfilment orders per day of
    the period over its daily order capacity; null when it has no limit or none is known)."""
    p = _period(request, start, to, granularity)
    flt = queries.Filter(p, narrowed(caller.channels, channel), Covered(caller.locations))
    found = await queries.locations(session, flt)
    total = sum(int(r["fulfilments"]) for r in found)
    rows = [
        LocationsRow(
            location=r["location"],
            fulfilments=r["fulfilments"],
            share=rate(r["fulfilments"], total),
            units_shipped=r["units"],
            capacity_use=None
            if not r["capacity"]
            else round(r["fulfilments"] / (r["capacity"] * p.days), 4),
        )
        for r in found
    ]
    return _answer(request, "locations", LocationsTable.model_validate(_table(p, rows)), rows)


@router.get("/stock-outs", summary="Stock-outs", responses=_csv_response("stock-outs"))
async def stock_outs(
    request: Request,
    session: ReadSessionDep,
    caller: StockReader,
    start: From = None,
    to: To = None,
    granularity: Bucket = Granularity.DAY,
) -> StockOutsTable:
    """Per bucket, SKU and location: how many times the location's available units fell to 0."""
    p = _period(request, start, to, granularity)
    flt = queries.Filter(p, Covered(None), Covered(caller.locations))
    found = await queries.stock_outs(session, flt)
    rows = [StockOutsRow(**r) for r in found]
    return _answer(request, "stock-outs", StockOutsTable.model_validate(_table(p, rows)), rows)


@router.get("/low-stock", summary="Low-stock SKUs now", responses=_csv_response("low-stock"))
async def low_stock(
    request: Request,
    session: ReadSessionDep,
    caller: StockReader,
    location: Annotated[str | None, Query(description="Only this location's rows")] = None,
) -> LowStockTable:
    """Now: every location's row of a SKU that is out of stock there (available 0), or of a
    SKU whose network availability is at or below its low-stock threshold (the threshold as
    inventory's last `low_stock` alert stated it; null when none was seen)."""
    found = await queries.low_stock(session, narrowed(caller.locations, location))
    rows = [LowStockRow(**r) for r in found]
    return _answer(request, "low-stock", LowStockTable(rows=rows), rows)
