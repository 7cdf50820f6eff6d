"""Exactly once per order, read at the source: each service's own database.

`assert_each_order_once(db, order_ids, sku=...)`: every order was taken once (one sales
order per order id; no other order for the SKU), reserved once (one reservation), authorised
once (one authorisation) and handed to a location once (one fulfilment order). `db` maps a
service to its database URL, so the same check serves any stack.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import text

from libs.db.engine import make_engine

# (service, what, per-order rows): each must give exactly one row for every order.
ONCE_PER_ORDER = (
    ("order_capture", "order", "SELECT id FROM sales_order WHERE id = ANY(:ids)"),
    ("inventory", "reservation", "SELECT order_id FROM reservation WHERE order_id = ANY(:ids)"),
    (
        "orchestration",
        "authorisation",
        "SELECT order_id FROM payment_operation"
        " WHERE kind = 'authorize' AND status = 'succeeded' AND order_id = ANY(:ids)",
    ),
    (
        "orchestration",
        "fulfilment",
        "SELECT order_id FROM fulfillment_order WHERE order_id = ANY(:ids)",
    ),
)


async def rows(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql), params)]
    finally:
        await engine.dispose()


async def counts_per_order(
    db: Mapping[str, str], order_ids: Iterable[str]
) -> dict[str, Counter[str]]:
    """For each thing that must happen once, how often it happened to each order."""
    ids = sorted(set(order_ids))
    found: dict[str, Counter[str]] = {}
    for service, what, sql in ONCE_PER_ORDER:
        found[what] = Counter(str(row[0]) for row in await rows(db[service], sql, ids=ids))
    return found


async def where_they_stand(db: Mapping[str, str], order_ids: Iterable[str]) -> dict[str, int]:
    """How many of the orders are in each saga state and payment state: what a failure
    message needs to say where the flow stopped."""
    ids = sorted(set(order_ids))
    found: Counter[str] = Counter()
    for (state,) in await rows(
        db["orchestration"], "SELECT state FROM order_saga WHERE order_id = ANY(:ids)", ids=ids
    ):
        found[f"saga {state}"] += 1
    for kind, status, reason in await rows(
        db["orchestration"],
        "SELECT kind, status, coalesce(data->>'reason', '') FROM payment_operation"
        " WHERE order_id = ANY(:ids)",
        ids=ids,
    ):
        found[f"payment {kind} {status} {reason}".strip()] += 1
    return dict(found)


def not_once(found: Mapping[str, Counter[str]], order_ids: Iterable[str]) -> list[str]:
    """What is missing or doubled, one line each (empty when every order has each once)."""
    return [
        f"order {oid}: {what} x{counts[oid]}"
        for what, counts in found.items()
        for oid in sorted(set(order_ids))
        if counts[oid] != 1
    ]


async def assert_each_order_once(
    db: Mapping[str, str], order_ids: Iterable[str], *, sku: str
) -> None:
    ids = list(order_ids)
    assert len(ids) == len(set(ids)), "one order id answered for two Idempotency-Keys"
    problems = not_once(await counts_per_order(db, ids), ids)
    assert not problems, f"{len(problems)} not exactly once, e.g. {problems[:5]}"
    taken = await rows(
        db["order_capture"],
        "SELECT count(DISTINCT o.id) FROM sales_order o JOIN order_line l ON l.order_id = o.id"
        " WHERE l.sku = :sku",
        sku=sku,
    )
    assert taken == [(len(ids),)], "an order nobody was told of (a key acted on twice)"
