"""One placed order is one trace across order-capture, orchestration and inventory.

The services are separate processes here, so an in-memory exporter in the test could not see
their spans: order-capture, orchestration and inventory are started again with tracing on
(only the standard OTEL_* variables), each exporting over OTLP/HTTP to a small collector this
test runs, which decodes the protobuf requests (opentelemetry-proto) and keeps the spans in
memory. The test sends the order with a W3C `traceparent` of its own, so the trace to look
for is known in advance and nothing else the stack does is mistaken for it. In-process
consumers would have proven less: the trace must cross real Kafka records written by a real
relay from real outbox rows. The cost is three restarts, a few seconds.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.trace import SpanKind

from tests.e2e.conftest import ServiceProcess, Stack
from tests.e2e.flows import place_order, random_sku, set_stock, wait_for_status
from tests.support.polling import eventually

TRACED = ("order_capture", "inventory", "orchestration")


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: SpanKind


class Collector:
    """An OTLP/HTTP trace receiver (`POST /v1/traces`, protobuf) keeping what it is sent."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        collector = self

        class Receiver(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request = ExportTraceServiceRequest.FromString(body)
                collector.add(request)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                return  # the test's output is not the place for a line per export

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, request: ExportTraceServiceRequest) -> None:
        received = []
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(
                        ReceivedSpan(
                            service=attributes.get("service.name", ""),
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            # OTLP counts from 1 (0 is unspecified); the API's enum from 0.
                            kind=SpanKind(span.kind - 1),
                        )
                    )
        with self._lock:
            self.spans.extend(received)

    def of_trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [span for span in self.spans if span.trace_id == trace_id]


@pytest.fixture
def collector() -> Iterator[Collector]:
    found = Collector()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()


@pytest.fixture
async def traced(stack: Stack, collector: Collector) -> AsyncIterator[dict[str, ServiceProcess]]:
    """The three services again, tracing to the collector, in place of the stack's own."""
    await asyncio.gather(*(stack[name].stop() for name in TRACED))
    otel = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
        # Spans leave every 100 ms rather than every 5 s: the test waits for them.
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    processes = {name: ServiceProcess(name, env=otel, log_name=f"{name}-traced") for name in TRACED}
    for process in processes.values():
        process.start()
    try:
        # Three start at once, each loading the OpenTelemetry packages besides the service.
        await asyncio.gather(*(p.wait_healthy(timeout=60) for p in processes.values()))
        yield processes
    finally:
        await asyncio.gather(*(p.stop() for p in processes.values()))
        for name in TRACED:
            stack[name].start()
        await asyncio.gather(*(stack[name].wait_healthy() for name in TRACED))


async def test_one_order_is_one_trace_across_the_services(
    traced: dict[str, ServiceProcess],
    collector: Collector,
    http: httpx.AsyncClient,
    urls: dict[str, str],
) -> None:
    sku = random_sku("TRACE")
    await set_stock(http, urls, location="WH-BER", sku=sku, on_hand=5)
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    order = await place_order(
        http, urls, lines=[(sku, 1)], headers={"traceparent": f"00-{trace_id}-{parent_id}-01"}
    )
    await wait_for_status(http, urls, order["id"], "confirmed")

    def spanning_all(spans: list[ReceivedSpan]) -> bool:
        services = {span.service for span in spans if span.name.startswith("process ")}
        return {"orchestration", "inventory"} <= services

    def orphans_of(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
        ids = {span.span_id for span in spans}
        return [s for s in spans if s.parent_span_id not in ids and s.parent_span_id != parent_id]

    # A parent span ends, and so is exported, after its children: the trace is read until
    # every span's parent has arrived too (an orphan that stays fails the wait).
    spans = await eventually(
        lambda: asyncio.to_thread(collector.of_trace, trace_id),
        until=lambda spans: spanning_all(spans) and not orphans_of(spans),
        timeout=20,
        what="the order's trace to reach orchestration's and inventory's consumers, "
        "each span with its parent",
    )
    services = {span.service for span in spans}
    assert {"order-capture", "orchestration", "inventory"} <= services, services
    # The request's server span is the child of the caller's context, the root of the rest.
    server = [s for s in spans if s.service == "order-capture" and s.name == "POST /v1/orders"]
    assert server and server[0].parent_span_id == parent_id
    # Every span of the trace hangs from another of it (or from the caller): one tree.
    orphans = orphans_of(spans)
    assert not orphans, orphans
    # The Kafka and database spans of the official instrumentations are in it too: the
    # relay's `<topic> send` (a PRODUCER span) and inventory's statements (CLIENT spans).
    kinds = {(span.service, span.kind) for span in spans}
    assert ("order-capture", SpanKind.PRODUCER) in kinds, spans
    assert ("inventory", SpanKind.CLIENT) in kinds, spans

    # The access log line of the request names the same trace (and its correlation id).
    access = [
        line
        for line in traced["order_capture"].log_lines()
        if line.get("event") == "http.access" and line.get("trace_id") == trace_id
    ]
    assert access and access[0]["route"] == "/v1/orders" and access[0]["status"] == 201
    assert access[0]["correlation_id"]
