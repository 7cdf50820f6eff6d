"""Exactly once per order, read at the source: each service's own database (counted by
tests.support.exactly_once, on the chaos stack's databases).

`assert_each_order_once(db, order_ids, sku=...)`: every order was taken once (one sales
order per order id; no other order for the SKU), reserved once (one reservation), authorised
once (one authorisation) and handed to a location once (one fulfilment order). `db` maps a
service to its database URL, so the same check serves any stack.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from tests.support.exactly_once import query, tally_orders


async def where_they_stand(db: Mapping[str, str], order_ids: Iterable[str]) -> dict[str, int]:
    """How many of the orders are in each saga state and payment state: what a failure
    message needs to say where the flow stopped."""
    ids = sorted(set(order_ids))
    found: Counter[str] = Counter()
    for (state,) in await query(
        db["orchestration"], "SELECT state FROM order_saga WHERE order_id = ANY(:ids)", ids=ids
    ):
        found[f"saga {state}"] += 1
    for kind, status, reason in await query(
        db["orchestration"],
        "SELECT kind, status, coalesce(data->>'reason', '') FROM payment_operation"
        " WHERE order_id = ANY(:ids)",
        ids=ids,
    ):
        found[f"payment {kind} {status} {reason}".strip()] += 1
    return dict(found)


async def assert_each_order_once(
    db: Mapping[str, str], order_ids: Iterable[str], *, sku: str
) -> None:
    ids = list(order_ids)
    assert len(ids) == len(set(ids)), "one order id answered for two Idempotency-Keys"
    problems = (await tally_orders(ids, databases=db)).not_exactly_once()
    assert not problems, f"{len(problems)} not exactly once, e.g. {list(problems.items())[:5]}"
    taken = await query(
        db["order_capture"],
        "SELECT count(DISTINCT o.id) FROM sales_order o JOIN order_line l ON l.order_id = o.id"
        " WHERE l.sku = :sku",
        sku=sku,
    )
    assert taken == [(len(ids),)], "an order nobody was told of (a key acted on twice)"
