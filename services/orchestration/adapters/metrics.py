"""Orchestration's own families on `GET /metrics` (libs.observability.metrics).

- `oms_sagas{state}` and `oms_saga_oldest_unchanged_seconds{state}`: the sagas still under
  way, by state, and how long the least recently changed of each state has not changed, read
  at scrape time. The finished states (completed, cancelled) grow with every order ever taken
  and are left out: counting them would read the whole table at every scrape, and their rates
  are the published events' (oms.orchestration.order_completed, oms.order.cancelled). Every
  state under way is reported, 0 when none is in it, so a series never vanishes.
- `oms_orders_held_total{reason}`: holds by their reason code, which the published event
  type (oms.orchestration.order_on_hold) does not tell apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import Counter
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy import Row, bindparam, text

from libs.observability.metrics import ScrapeRead
from services.orchestration.domain.saga import SagaState
from services.orchestration.domain.saga.state import FINISHED, HoldReason

# On hold stays in: a held order waits for a person, and how long is what an operator asks.
UNDER_WAY = tuple(s.value for s in SagaState if s not in FINISHED or s is SagaState.ON_HOLD)

ORDERS_HELD = Counter(
    "oms_orders_held",
    "Orders put on hold, by reason code (counted when the hold is committed)",
    ["reason"],
)
_held = {reason.value: ORDERS_HELD.labels(reason.value) for reason in HoldReason}

# The state index finds the rows under way; a hold, a wait or a payment in flight is a small
# part of a table that keeps every order's saga.
_SAGAS_BY_STATE = text(
    "SELECT state, count(*) AS sagas, EXTRACT(EPOCH FROM clock_timestamp() - min(updated_at))"
    "::float8 AS unchanged FROM order_saga WHERE state IN :states GROUP BY state"
).bindparams(bindparam("states", value=UNDER_WAY, expanding=True))


def _saga_families(rows: Sequence[Row[Any]]) -> list[Metric]:
    found = {row.state: row for row in rows}
    sagas = GaugeMetricFamily(
        "oms_sagas",
        "Order sagas under way, by state (completed and cancelled ones are not counted)",
        labels=["state"],
    )
    unchanged = GaugeMetricFamily(
        "oms_saga_oldest_unchanged_seconds",
        "How long the least recently changed saga of each state has not changed (0: none)",
        labels=["state"],
    )
    for state in UNDER_WAY:
        row = found.get(state)
        sagas.add_metric([state], int(row.sagas) if row is not None else 0)
        unchanged.add_metric([state], max(float(row.unchanged), 0.0) if row is not None else 0)
    return [sagas, unchanged]


SAGAS_READ = ScrapeRead(
    name="sagas",
    query=_SAGAS_BY_STATE,
    families=_saga_families,
    names=("oms_sagas", "oms_saga_oldest_unchanged_seconds"),
    help="1 when this scrape could read the sagas (oms_sagas and"
    " oms_saga_oldest_unchanged_seconds are then present), 0 when the database did not answer"
    " in time",
)


def holds_committed(reason_codes: Iterable[str]) -> None:
    for code in reason_codes:
        child = _held.get(code)
        if child is None:  # a reason added to the domain and not yet here: still counted
            child = _held[code] = ORDERS_HELD.labels(code)
        child.inc()
