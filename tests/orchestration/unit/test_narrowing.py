"""The WHERE clauses that narrow sagas and fulfilment orders to a caller's claims."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects import postgresql

from services.orchestration.adapters.narrowing import (
    fulfillment_visible,
    location_visible,
    saga_visible,
)
from services.orchestration.adapters.tables import order_saga


def sql(clause: ColumnElement[bool]) -> str:
    query = select(order_saga.c.order_id).where(clause)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    compiled = query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return str(compiled).split("WHERE", 1)[1].strip()


def test_no_channels_claim_does_not_narrow() -> None:
    assert sql(saga_visible(None)) == "true"


def test_a_channels_claim_narrows_to_those_channels_in_a_stable_order() -> None:
    assert sql(saga_visible(frozenset({"web", "marketplace"}))) == (
        "order_saga.channel IN ('marketplace', 'web')"
    )


def test_an_empty_channels_claim_allows_nothing() -> None:
    clause = sql(saga_visible(frozenset()))
    assert "order_saga.channel IN" in clause
    assert "1 != 1" in clause


def test_a_locations_claim_narrows_fulfilment_orders_by_their_location() -> None:
    assert sql(location_visible(None)) == "true"
    assert sql(location_visible(frozenset({"WH-BER"}))) == (
        "fulfillment_order.location_code IN ('WH-BER')"
    )


def test_fulfilment_orders_are_narrowed_by_both_claims() -> None:
    both = sql(fulfillment_visible(frozenset({"web"}), frozenset({"WH-BER", "ST-MUC"})))
    assert both == (
        "order_saga.channel IN ('web') AND fulfillment_order.location_code IN ('ST-MUC', 'WH-BER')"
    )
    assert sql(fulfillment_visible(None, frozenset({"WH-BER"}))) == (
        "fulfillment_order.location_code IN ('WH-BER')"
    )
    assert sql(fulfillment_visible(frozenset({"web"}), None)) == "order_saga.channel IN ('web')"
    assert sql(fulfillment_visible(None, None)) == "true"
