"""Tracing (libs.observability.tracing): off unless the OTEL_* variables ask for it, and on,
the trace of the span that wrote an outbox row goes with the row and continues in the span
of the consumer that handles its record."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import MetaData

from libs.clock import SystemClock
from libs.contracts.base import IntegrationEvent
from libs.observability import tracing
from libs.outbox.tables import outbox_table
from libs.outbox.writer import OutboxWriter


class Pinged(IntegrationEvent):
    ping_id: str

    @property
    def subject(self) -> str:
        return self.ping_id

    @property
    def partition_key(self) -> str:
        return self.ping_id


# Set after the class is made: an `event_type` in its body would register it among the
# system's events (libs.contracts.base), which the contract tests walk.
Pinged.topic = "oms.test.events"
Pinged.event_type = "oms.test.pinged"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure_tracing(service="test-service", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.reset_for_tests()


def writer() -> OutboxWriter:
    return OutboxWriter(
        table=outbox_table(MetaData()),
        service="test-service",
        clock=SystemClock(),
    )


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console,otlp"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_tracing_is_on_only_when_the_otel_variables_ask(environ: dict[str, str], on: bool) -> None:
    assert tracing.requested(environ) is on


def test_off_nothing_is_traced_and_outbox_rows_carry_no_trace() -> None:
    assert not tracing.configure_tracing(service="test-service", environ={})
    assert not tracing.enabled()
    rows, _ = writer().rows([Pinged(ping_id="p-1")])
    assert not set(rows[0]["headers"]) & set(tracing.TRACE_HEADERS)
    assert tracing.current_trace_id() is None
    with tracing.consumer_span("process oms.test.events", [("traceparent", b"00-x")]):
        assert not trace.get_current_span().get_span_context().is_valid


def test_an_outbox_row_carries_its_span_and_the_consumer_continues_its_trace(
    spans: InMemorySpanExporter,
) -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("POST /v1/pings") as request:
        rows, _ = writer().rows([Pinged(ping_id="p-1")])
        request_context = request.get_span_context()
        assert tracing.current_trace_id() == format(request_context.trace_id, "032x")
    headers = rows[0]["headers"]
    assert headers["traceparent"].split("-")[1] == format(request_context.trace_id, "032x")
    assert headers["correlation-id"]

    # The consumer's side: the record's headers as Kafka hands them over.
    record_headers = [(k, v.encode()) for k, v in headers.items()]
    with tracing.consumer_span("process oms.test.events", record_headers, {"k": "v"}):
        # What the handler writes carries the same trace on.
        handled_rows, _ = writer().rows([Pinged(ping_id="p-2")])
    assert handled_rows[0]["headers"]["traceparent"].split("-")[1] == format(
        request_context.trace_id, "032x"
    )

    finished = {span.name: span for span in spans.get_finished_spans()}
    process = finished["process oms.test.events"]
    assert process.kind is trace.SpanKind.CONSUMER
    assert process.context.trace_id == request_context.trace_id
    assert process.parent is not None and process.parent.span_id == request_context.span_id
    assert process.resource.attributes["service.name"] == "test-service"


def test_the_relay_sends_a_row_inside_the_trace_it_was_written_in(
    spans: InMemorySpanExporter,
) -> None:
    with trace.get_tracer("test").start_as_current_span("request") as request:
        saved = tracing.current_trace_headers()
    assert set(saved) == {"traceparent"}
    with tracing.attached(saved):
        assert trace.get_current_span().get_span_context().span_id == (
            request.get_span_context().span_id
        )
    assert not trace.get_current_span().get_span_context().is_valid
