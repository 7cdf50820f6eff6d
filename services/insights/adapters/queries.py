"""Read-side SQL for the insights API; returns plain read models defined in adapters, never the
API's schemas (the routes convert them).

The key figures are aggregated here, at read time, from the fact tables the consumer keeps
incrementally (one small upsert per event): no nightly scan, and a period or bucket size
chosen by the caller. Order figures are by cohort: an order counts in the bucket and channel of
its placement, and everything that happens to it later counts there too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.insights.domain.kpis import Period, Scope

Row = dict[str, Any]
EVERY = Scope(None)  # not narrowed


@dataclass(frozen=True)
class Filter:
    period: Period
    channels: Scope
    locations: Scope = EVERY


def _params(flt: Filter) -> tuple[str, dict[str, Any]]:
    where = ""
    params: dict[str, Any] = {
        "start": flt.period.start,
        "end": flt.period.end,
        "unit": flt.period.granularity.value,
    }
    if flt.channels.values is not None:
        where = " AND o.channel = ANY(CAST(:channels AS text[]))"
        params["channels"] = sorted(flt.channels.values)
    return where, params


# Every cohort order of the period, with what became of it. split: a plan that held named two
# locations or more, or parcels left from two or more; delivered_at: when the last of its
# parcels reached the customer, once all of those shipped have.
_COHORT = """
WITH o AS (
  SELECT o.order_id, o.channel, o.currency, o.total, o.placed_at,
         date_trunc(CAST(:unit AS text), o.placed_at, 'UTC') AS period_start,
         o.cancelled_at IS NOT NULL AS cancelled,
         GREATEST(o.plan_locations,
                  (SELECT count(DISTINCT s.location) FROM kpi_shipment s
                    WHERE s.order_id = o.order_id AND s.shipped_at IS NOT NULL)) > 1 AS split,
         EXISTS (SELECT 1 FROM kpi_hold h WHERE h.order_id = o.order_id) AS held,
         EXISTS (SELECT 1 FROM kpi_return r WHERE r.order_id = o.order_id AND NOT r.rejected)
           AS returned,
         (SELECT min(b.started_at) FROM kpi_backorder b WHERE b.order_id = o.order_id
           AND b.started_at IS NOT NULL) AS backorder_started,
         (SELECT CASE WHEN bool_and(b.ended_at IS NOT NULL) THEN max(b.ended_at) END
            FROM kpi_backorder b WHERE b.order_id = o.order_id AND b.started_at IS NOT NULL)
           AS backorder_ended,
         (SELECT min(s.shipped_at) FROM kpi_shipment s WHERE s.order_id = o.order_id)
           AS shipped_at,
         (SELECT CASE WHEN bool_and(s.delivered_at IS NOT NULL) THEN max(s.delivered_at) END
            FROM kpi_shipment s WHERE s.order_id = o.order_id) AS delivered_at,
         o.dispatch_overdue_at
    FROM kpi_order o
   WHERE o.placed_at >= :start AND o.placed_at < :end{where}
), c AS (
  SELECT o.*,
         o.backorder_started IS NOT NULL AS backordered,
         extract(epoch FROM o.shipped_at - o.placed_at) AS to_ship_s,
         extract(epoch FROM o.delivered_at - o.placed_at) AS to_delivery_s,
         extract(epoch FROM o.backorder_ended - o.backorder_started) AS backorder_wait_s,
         o.shipped_at IS NOT NULL
           AND (o.dispatch_overdue_at IS NULL OR o.dispatch_overdue_at >= o.shipped_at)
           AS on_time
    FROM o
)
"""

_P = "percentile_cont({q}) WITHIN GROUP (ORDER BY {col})"


def _pct(col: str, name: str) -> str:
    return f"{_P.format(q=0.5, col=col)} AS {name}_p50, {_P.format(q=0.9, col=col)} AS {name}_p90"


async def _rows(session: AsyncSession, sql: str, params: dict[str, Any]) -> list[Row]:
    result = await session.execute(text(sql), params)
    return [dict(r._mapping) for r in result]


async def summary(session: AsyncSession, flt: Filter) -> Row:
    where, params = _params(flt)
    sql = (
        _COHORT.format(where=where)
        + f"""
SELECT count(*) AS placed,
       count(*) FILTER (WHERE split) AS split, count(*) FILTER (WHERE backordered) AS backordered,
       count(*) FILTER (WHERE held) AS held, count(*) FILTER (WHERE cancelled) AS cancelled,
       count(*) FILTER (WHERE returned) AS returned,
       count(shipped_at) AS shipped, count(*) FILTER (WHERE on_time) AS on_time,
       {_pct("to_ship_s", "ship")}, {_pct("to_delivery_s", "delivery")},
       (SELECT {_P.format(q=0.5, col="extract(epoch FROM f.refunded_at - r.requested_at)")}
          FROM kpi_refund f JOIN kpi_return r USING (return_id) JOIN c ON c.order_id = f.order_id)
         AS refund_p50,
       (SELECT {_P.format(q=0.9, col="extract(epoch FROM f.refunded_at - r.requested_at)")}
          FROM kpi_refund f JOIN kpi_return r USING (return_id) JOIN c ON c.order_id = f.order_id)
         AS refund_p90
  FROM c
"""
    )
    return (await _rows(session, sql, params))[0]


async def orders(session: AsyncSession, flt: Filter) -> list[Row]:
    where, params = _params(flt)
    sql = (
        _COHORT.format(where=where)
        + """
SELECT period_start, channel, currency, count(*) AS placed, sum(total) AS revenue
  FROM c GROUP BY period_start, channel, currency ORDER BY period_start, channel, currency
"""
    )
    return await _rows(session, sql, params)


async def rates(session: AsyncSession, flt: Filter) -> list[Row]:
    where, params = _params(flt)
    sql = (
        _COHORT.format(where=where)
        + """
SELECT period_start, channel, count(*) AS placed,
       count(*) FILTER (WHERE split) AS split, count(*) FILTER (WHERE backordered) AS backordered,
       count(*) FILTER (WHERE held) AS held, count(*) FILTER (WHERE cancelled) AS cancelled,
       count(*) FILTER (WHERE returned) AS returned
  FROM c GROUP BY period_start, channel ORDER BY period_start, channel
"""
    )
    return await _rows(session, sql, params)


async def lead_times(session: AsyncSession, flt: Filter) -> list[Row]:
    where, params = _params(flt)
    sql = (
        _COHORT.format(where=where)
        + f"""
SELECT period_start, channel, count(shipped_at) AS shipped,
       count(*) FILTER (WHERE on_time) AS on_time, count(to_delivery_s) AS delivered,
       {_pct("to_ship_s", "ship")}, {_pct("to_delivery_s", "delivery")}
  FROM c GROUP BY period_start, channel ORDER BY period_start, channel
"""
    )
    return await _rows(session, sql, params)


async def backorders(session: AsyncSession, flt: Filter) -> list[Row]:
    where, params = _params(flt)
    sql = (
        _COHORT.format(where=where)
        + f"""
SELECT period_start, channel, count(*) AS backordered, {_pct("backorder_wait_s", "wait")},
       count(*) FILTER (WHERE backorder_ended IS NULL) AS still_waiting
  FROM c WHERE backordered GROUP BY period_start, channel ORDER BY period_start, channel
"""
    )
    return await _rows(session, sql, params)


async def holds(session: AsyncSession, flt: Filter) -> list[Row]:
    where, params = _params(flt)
    sql = (
        _COHORT.format(where=where)
        + """
, placed AS (SELECT channel, count(*) AS n FROM c GROUP BY channel)
SELECT h.reason_code AS reason, c.channel, count(DISTINCT c.order_id) AS held, p.n AS placed
  FROM c JOIN kpi_hold h ON h.order_id = c.order_id JOIN placed p ON p.channel = c.channel
 GROUP BY h.reason_code, c.channel, p.n ORDER BY h.reason_code, c.channel
"""
    )
    return await _rows(session, sql, params)


async def returns(session: AsyncSession, flt: Filter) -> list[Row]:
    where, params = _params(flt)
    sql = (
        _COHORT.format(where=where)
        + """
, shipped AS (
  SELECT l.sku, sum(s.quantity) AS units
    FROM kpi_shipped_line s JOIN c ON c.order_id = s.order_id
    JOIN kpi_order_line l ON l.order_id = s.order_id AND l.line_id = s.line_id
   GROUP BY l.sku
)
SELECT rl.sku, rl.reason, sum(rl.quantity) AS returned, coalesce(max(sh.units), 0) AS shipped
  FROM kpi_return_line rl JOIN c ON c.order_id = rl.order_id
  JOIN kpi_return r ON r.return_id = rl.return_id AND NOT r.rejected
  LEFT JOIN shipped sh ON sh.sku = rl.sku
 GROUP BY rl.sku, rl.reason ORDER BY rl.sku, rl.reason
"""
    )
    return await _rows(session, sql, params)


async def refunds(session: AsyncSession, flt: Filter) -> list[Row]:
    where, params = _params(flt)
    wait = "extract(epoch FROM f.refunded_at - r.requested_at)"
    sql = (
        _COHORT.format(where=where)
        + f"""
SELECT c.period_start, c.channel, f.currency, count(*) AS refunds, sum(f.amount) AS amount,
       {_pct(wait, "refund")}
  FROM kpi_refund f JOIN c ON c.order_id = f.order_id
  LEFT JOIN kpi_return r ON r.return_id = f.return_id
 GROUP BY c.period_start, c.channel, f.currency ORDER BY c.period_start, c.channel, f.currency
"""
    )
    return await _rows(session, sql, params)


async def locations(session: AsyncSession, flt: Filter) -> list[Row]:
    """Fulfilment orders created in the period at each location (of the caller's channels'
    orders when channel-narrowed), the units shipped from it in the period, its capacity."""
    params: dict[str, Any] = {"start": flt.period.start, "end": flt.period.end}
    where = ""
    if flt.channels.values is not None:
        where += " AND o.channel = ANY(CAST(:channels AS text[]))"
        params["channels"] = sorted(flt.channels.values)
    if flt.locations.values is not None:
        where += " AND x.location = ANY(CAST(:locations AS text[]))"
        params["locations"] = sorted(flt.locations.values)
    join = " JOIN kpi_order o ON o.order_id = x.order_id" if flt.channels.values is not None else ""
    sql = f"""
WITH f AS (
  SELECT x.location, count(*) AS fulfilments FROM kpi_fulfilment x{join}
   WHERE x.created_at >= :start AND x.created_at < :end{where} GROUP BY x.location
), s AS (
  SELECT x.location, sum(x.units) AS units FROM kpi_shipment x{join}
   WHERE x.shipped_at >= :start AND x.shipped_at < :end{where} GROUP BY x.location
)
SELECT coalesce(f.location, s.location) AS location, coalesce(f.fulfilments, 0) AS fulfilments,
       coalesce(s.units, 0) AS units, l.daily_order_capacity AS capacity
  FROM f FULL JOIN s ON s.location = f.location
  LEFT JOIN kpi_location l ON l.location = coalesce(f.location, s.location)
 ORDER BY 1
"""
    return await _rows(session, sql, params)


async def stock_outs(session: AsyncSession, flt: Filter) -> list[Row]:
    params: dict[str, Any] = {
        "start": flt.period.start,
        "end": flt.period.end,
        "unit": flt.period.granularity.value,
    }
    where = ""
    if flt.locations.values is not None:
        where = " AND location = ANY(CAST(:locations AS text[]))"
        params["locations"] = sorted(flt.locations.values)
    sql = f"""
SELECT date_trunc(CAST(:unit AS text), at, 'UTC') AS period_start, sku, location,
       count(*) AS stock_outs
  FROM kpi_stock_out WHERE at >= :start AND at < :end{where}
 GROUP BY 1, sku, location ORDER BY 1, sku, location
"""
    return await _rows(session, sql, params)


async def low_stock(session: AsyncSession, locations: Scope) -> list[Row]:
    """Every location's row of a SKU that is out of stock there, or of a SKU whose network
    availability is at or below the threshold its last low-stock alert stated."""
    params: dict[str, Any] = {}
    where = ""
    if locations.values is not None:
        where = " AND s.location = ANY(CAST(:locations AS text[]))"
        params["locations"] = sorted(locations.values)
    sql = f"""
SELECT s.sku, s.location, s.available, t.threshold, s.available = 0 AS out_of_stock,
       CASE WHEN s.available = 0 THEN s.out_since ELSE t.low_since END AS since
  FROM kpi_stock s LEFT JOIN kpi_sku_threshold t ON t.sku = s.sku
 WHERE (s.available = 0 OR s.network_available <= t.threshold){where}
 ORDER BY s.sku, s.location
"""
    return await _rows(session, sql, params)


def as_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def as_float(value: Any) -> float | None:
    return None if value is None else float(value)


def as_time(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None
