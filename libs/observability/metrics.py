"""What every service exposes on `GET /metrics`, in Prometheus' text format (prometheus-client).

The families (docs/operations.md#metrics lists them with their labels):
- `oms_http_request_duration_seconds{method,route,status}`: every HTTP request, labelled by
  its route *template* (`/v1/orders/{order_id}`), never the raw path, so an id in the path
  never makes a series of its own;
- `oms_consumer_records_handled_total{topic}`, `oms_consumer_handle_seconds{topic}`,
  `oms_consumer_dead_lettered_total{topic}`, `oms_consumer_lag{topic,partition}`: the inbox
  consumer (libs.messaging.consumer);
- `oms_events_published_total{type}`: what the outbox relay published, by CloudEvent type,
  which counts the business facts (orders placed, routed, held, cancelled, returned...)
  without a line of domain code;
- `oms_outbox_backlog`, `oms_outbox_oldest_age_seconds`, `oms_outbox_query_success`: read
  from the database when scraped, under a short timeout (ScrapeRead; a service adds reads of
  its own the same way: orchestration's sagas by state, notifications' pending deliveries).

A service's own counters (orders by channel, holds by reason, webhook attempts...) are
defined in the service, beside what counts them.

A service of several processes (libs.processes) serves HTTP from children that share one
socket, so a scrape reaches whichever child the kernel picks: each child's own counters would
make the series jump between scrapes. The supervisor therefore gives its children a directory
of their own (PROMETHEUS_MULTIPROC_DIR, libs.processes.shared_metrics_directory), every child
writes its values there, and the child that answers a scrape adds them all up
(prometheus-client's multiprocess mode). A single process keeps its values in memory.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Row, Table, TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.observability.logging import get_logger
from libs.processes import METRICS_DIRECTORY_ENV

log = get_logger(__name__)

METRICS_PATH = "/metrics"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# From a cached read (~1 ms) to a request the clients have long given up on.
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HANDLE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
# The route label of a request no route took: a 404, or one refused before routing (an
# overloaded process's 503, a 413 judged by its Content-Length).
UNMATCHED = "unmatched"
# Anything else a client sends as a method is one series, not one per invented method.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SCRAPE_QUERY_TIMEOUT_S = 1.0

# A `_created` timestamp beside every series would double what each scrape sends; Prometheus
# sees counter resets without it.
disable_created_metrics()  # type: ignore[no-untyped-call]  # unannotated upstream

HTTP_REQUEST_DURATION = Histogram(
    "oms_http_request_duration_seconds",
    "HTTP requests by method, route template and status, from the first byte in to the last out",
    ["method", "route", "status"],
    buckets=HTTP_BUCKETS,
)
CONSUMER_RECORDS_HANDLED = Counter(
    "oms_consumer_records_handled",
    "Consumed records whose handler committed, by logical topic",
    ["topic"],
)
CONSUMER_HANDLE_SECONDS = Histogram(
    "oms_consumer_handle_seconds",
    "Time to handle a consumed record, by logical topic; a record handled in a transaction"
    " shared with others is given its share of that transaction's time",
    ["topic"],
    buckets=HANDLE_BUCKETS,
)
CONSUMER_DEAD_LETTERED = Counter(
    "oms_consumer_dead_lettered",
    "Consumed records sent to <topic>.dlq, by logical topic",
    ["topic"],
)
CONSUMER_LAG = Gauge(
    "oms_consumer_lag",
    "Records on a partition this process holds that it has not yet been handed (the"
    " partition's high watermark minus the next offset to handle), updated at each commit",
    ["topic", "partition"],
    # Across processes, the partition's owner: the others read 0 once it left them.
    multiprocess_mode="livemax",
)
EVENTS_PUBLISHED = Counter(
    "oms_events_published",
    "Events the outbox relay published to Kafka, by CloudEvent type (at least once: a relay"
    " that dies between sending and deleting sends its batch again)",
    ["type"],
)


def multiprocess_directory() -> str | None:
    """The directory the service's processes share their values through, if they do."""
    return os.environ.get(METRICS_DIRECTORY_ENV) or None


# What a request's end is told: its scope, the status it was answered with, its seconds.
RequestDone = Callable[[Scope, int, float], None]


class HttpMetricsMiddleware:
    """Pure ASGI: one histogram observation per request, labelled after the router ran (the
    route it chose is in the scope by then). The label set's child is looked up once and
    kept, so a request costs two clock reads, a dict lookup and the observation."""

    def __init__(self, app: ASGIApp, *, access_log: RequestDone | None = None) -> None:
        self.app = app
        self._observers: dict[tuple[str, str, int], Histogram] = {}
        # Told of each request with what was measured here (libs.observability.access_log):
        # one timing and one wrapped `send` a request, not one per middleware.
        self._access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception no handler answered reaches Starlette's 500 above us

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            seconds = time.perf_counter() - started
            self._observer(scope, status).observe(seconds)
            if self._access_log is not None:
                self._access_log(scope, status, seconds)

    def _observer(self, scope: Scope, status: int) -> Histogram:
        method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
        key = (method, route_label(scope), status)
        observer = self._observers.get(key)
        if observer is None:
            observer = HTTP_REQUEST_DURATION.labels(method, key[1], str(status))
            self._observers[key] = observer
        return observer


def route_label(scope: Scope) -> str:
    """The template of the route the router chose (`/v1/orders/{order_id}`), or UNMATCHED.

    Starlette leaves the chosen route in the scope, but FastAPI (since 0.16x) no longer copies
    an included router's routes under their prefix: the route there is the router's own
    (`/orders/{order_id}`), and the template with its prefixes is in the context FastAPI
    keeps in the scope for the request (the same path its OpenAPI document gives). A route of
    the app itself (the probes) has no such context. tests/libs/unit/test_metrics.py fails
    if a FastAPI upgrade moves it."""
    effective = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(effective, "path", None) or getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def records_handled(topics: Sequence[str], seconds: float) -> None:
    """Records handled in one transaction that took `seconds`, each given its share."""
    if not topics:
        return
    share = seconds / len(topics)
    for topic in topics:
        children = _handled.get(topic)
        if children is None:
            children = _handled[topic] = (
                CONSUMER_RECORDS_HANDLED.labels(topic),
                CONSUMER_HANDLE_SECONDS.labels(topic),
            )
        children[0].inc()
        children[1].observe(share)


# Label children looked up once: `labels()` validates and locks at every call, and a busy
# consumer or relay counts thousands of records a second.
_handled: dict[str, tuple[Counter, Histogram]] = {}
_published: dict[str, Counter] = {}


def record_dead_lettered(topic: str) -> None:
    CONSUMER_DEAD_LETTERED.labels(topic).inc()


def set_consumer_lag(topic: str, partition: int, lag: int) -> None:
    CONSUMER_LAG.labels(topic, str(partition)).set(max(lag, 0))


def forget_consumer_lag(topic: str, partition: int) -> None:
    """A partition that left this process: its new owner reports it now."""
    if multiprocess_directory():
        # The files cannot drop a series; 0 loses to the owner's value under `livemax`.
        CONSUMER_LAG.labels(topic, str(partition)).set(0)
    else:
        CONSUMER_LAG.remove(topic, str(partition))


def events_published(types: Iterable[str]) -> None:
    for event_type in types:
        child = _published.get(event_type)
        if child is None:
            child = _published[event_type] = EVENTS_PUBLISHED.labels(event_type)
        child.inc()


@dataclass(frozen=True)
class ScrapeRead:
    """Families a service reads from its database when scraped (the outbox's, the sagas' by
    state, the deliveries' backlog): one statement, run under a short timeout so that a
    database too slow or unreachable costs the scrape at most that, and says so in
    `oms_<name>_query_success` (the families are then absent). `families` turns the
    statement's rows into the families, whose names `names` declares (what a dashboard or an
    alert rule may use: tests/contract/test_monitoring.py checks them)."""

    name: str
    query: TextClause
    families: Callable[[Sequence[Row[Any]]], list[Metric]]
    names: tuple[str, ...]
    help: str


async def read_at_scrape(
    engine: AsyncEngine, read: ScrapeRead, *, timeout_s: float = SCRAPE_QUERY_TIMEOUT_S
) -> list[Metric]:
    """The read's families now, and whether they could be read."""
    success = GaugeMetricFamily(f"oms_{read.name}_query_success", read.help)
    try:
        async with asyncio.timeout(timeout_s), engine.connect() as conn:
            rows = (await conn.execute(read.query)).all()
    except Exception as exc:
        log.warning("metrics.unread", read=read.name, error=repr(exc), timeout_s=timeout_s)
        success.add_metric([], 0)
        return [success]
    success.add_metric([], 1)
    return [success, *read.families(rows)]


async def read_all_at_scrape(
    engine: AsyncEngine, reads: Sequence[ScrapeRead], *, timeout_s: float = SCRAPE_QUERY_TIMEOUT_S
) -> list[Metric]:
    """Every read at once (each on its own connection): a scrape waits for the slowest alone."""
    results = await asyncio.gather(*(read_at_scrape(engine, r, timeout_s=timeout_s) for r in reads))
    return [family for families in results for family in families]


def outbox_read(outbox: Table) -> ScrapeRead:
    """The outbox's backlog and the age of its oldest unpublished row. The count walks the
    partial index of unpublished rows (the relay's own); the age reads the first of them in
    `seq` order, which is as old as any."""
    table = outbox.fullname
    query = text(
        "SELECT count(*) AS backlog, COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - ("
        f"SELECT created_at FROM {table} WHERE published_at IS NULL ORDER BY seq LIMIT 1"
        f")), 0)::float8 AS age FROM {table} WHERE published_at IS NULL"
    )

    def families(rows: Sequence[Row[Any]]) -> list[Metric]:
        row = rows[0]
        return [
            GaugeMetricFamily(
                "oms_outbox_backlog", "Outbox rows not yet published", value=int(row.backlog)
            ),
            GaugeMetricFamily(
                "oms_outbox_oldest_age_seconds",
                "Age of the oldest unpublished outbox row (0 when there is none)",
                value=float(row.age),
            ),
        ]

    return ScrapeRead(
        name="outbox",
        query=query,
        families=families,
        names=("oms_outbox_backlog", "oms_outbox_oldest_age_seconds"),
        help="1 when this scrape could read the outbox (the two oms_outbox_ families are then"
        " present), 0 when the database did not answer in time",
    )


async def outbox_families(
    engine: AsyncEngine, outbox: Table, *, timeout_s: float = SCRAPE_QUERY_TIMEOUT_S
) -> list[Metric]:
    """The outbox's families, read now (outbox_read)."""
    return await read_at_scrape(engine, outbox_read(outbox), timeout_s=timeout_s)


class _ThisProcess(Collector):
    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


class _Families(Collector):
    def __init__(self, families: Sequence[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def render(read_now: Sequence[Metric] = ()) -> bytes:
    """The exposition: this process's values (or, with several processes, all of theirs),
    and the families read at scrape time."""
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_directory()
    if directory is not None:
        # Registers itself; prometheus-client leaves its constructor unannotated.
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(_Families(read_now))
    return generate_latest(registry)
