"""OpenTelemetry traces: one order is one trace, from its HTTP request across every service.

Off unless asked for, and then configured only by OpenTelemetry's own variables:
- tracing is on when `OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`; `none` is
  off) or, with it unset, when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) names
  a collector; `OTEL_SDK_DISABLED=true` turns it off whatever else is set. OpenTelemetry's own
  default (an OTLP exporter to localhost) would have every `make run` and every test send
  spans nowhere, so unset means off here;
- `OTEL_SERVICE_NAME` defaults to the service's deploy name; the OTLP exporter is the
  HTTP/protobuf one and reads the rest (`OTEL_EXPORTER_OTLP_*`), the batch processor its
  `OTEL_BSP_*`, the sampler `OTEL_TRACES_SAMPLER(_ARG)`.

Off, nothing is instrumented and nothing wraps anything: the cost is a test of `enabled()`
where the outbox writer and the consumer would carry a trace on.

On, the official instrumentations make the spans of HTTP (FastAPI, httpx), the database
(asyncpg: the hot statements go to asyncpg itself, libs.db.driver, and SQLAlchemy's own go
through asyncpg's prepared statements, so asyncpg's instrumentation sees both where
SQLAlchemy's would see only the latter) and Kafka (aiokafka). The outbox breaks the chain an
instrumented producer would make: an event is sent by the relay, later and in another task,
where the request's span is long gone. So the writer saves the W3C `traceparent` of the
current span in the outbox row's headers (the `headers` column the relay already copies to
the record), the relay sends the row inside that context, and the consumer runs its handler
in a span that is a child of the record's context, so what the handler writes carries the
same trace on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from libs.observability.logging import get_logger

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

# OpenTelemetry itself is imported only once tracing is on, in the functions that need it:
# its SDK and propagators took about a tenth of a second of every process's start.

log = get_logger(__name__)

# The W3C Trace Context fields (https://www.w3.org/TR/trace-context/), as header names.
TRACE_HEADERS = ("traceparent", "tracestate")
# The probes and the scrape: polled every few seconds, a trace each would bury the orders'.
UNTRACED_URLS = "healthz,readyz,metrics"

_provider: TracerProvider | None = None
_tracer: Tracer | None = None


def enabled() -> bool:
    return _provider is not None


def requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the OTEL_* variables ask for traces (see the module's docstring)."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return exporters != "none"
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def configure_tracing(
    *,
    service: str,
    environ: Mapping[str, str] = os.environ,
    exporter: SpanExporter | None = None,
) -> bool:
    """Set tracing up for this process if the environment asks for it (or a test passes an
    `exporter`, whose spans are then exported one by one as they end). Once per process: a
    second call changes nothing. Returns whether tracing is on."""
    global _provider, _tracer
    if _provider is not None:
        return True
    if exporter is None and not requested(environ):
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    name = environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        for chosen in _exporters(environ):
            provider.add_span_processor(BatchSpanProcessor(chosen))
    trace.set_tracer_provider(provider)
    _instrument_libraries(provider)
    _provider = provider
    _tracer = provider.get_tracer("oms")
    log.info("tracing.on", service_name=name)
    return True


def _exporters(environ: Mapping[str, str]) -> list[SpanExporter]:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    names = [n.strip() for n in environ.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",")]
    chosen: list[SpanExporter] = []
    for name in filter(None, names):
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            chosen.append(OTLPSpanExporter())
        elif name == "console":
            chosen.append(ConsoleSpanExporter())
        elif name != "none":
            log.warning("tracing.unknown_exporter", exporter=name, known=["otlp", "console"])
    return chosen


def _instrument_libraries(provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    AIOKafkaInstrumentor().instrument(tracer_provider=provider)


def instrument_app(app: Any) -> None:
    """The FastAPI app's server spans, when tracing is on (named by route template)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider, excluded_urls=UNTRACED_URLS)


def current_trace_headers() -> dict[str, str]:
    """The current span's `traceparent` (and `tracestate`), to save with an outbox row; none
    when tracing is off or no span is current."""
    if _provider is None:
        return {}
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {k: v for k, v in carrier.items() if k in TRACE_HEADERS}


def current_trace_id() -> str | None:
    """The current trace's id in hex (as a trace viewer searches for it), or None."""
    if _provider is None:
        return None
    from opentelemetry import trace

    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


def kafka_trace_headers(headers: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in headers or ():
        if name in TRACE_HEADERS and value is not None:
            found[name] = bytes(value).decode(errors="replace")
    return found


@contextmanager
def attached(headers: Mapping[str, str]) -> Iterator[None]:
    """The trace context saved in `headers` made current (nothing when tracing is off)."""
    if _provider is None or not headers:
        yield
        return
    from opentelemetry import context, propagate

    token = context.attach(propagate.extract(headers))
    try:
        yield
    finally:
        context.detach(token)


@contextmanager
def consumer_span(
    name: str,
    headers: Sequence[tuple[str, bytes]] | None,
    attributes: MutableMapping[str, Any] | None = None,
) -> Iterator[None]:
    """A span for handling one consumed record, a child of the context its producer saved in
    the record's headers, and current while the handler runs (so what it writes carries the
    trace on). Nothing when tracing is off."""
    if _provider is None or _tracer is None:
        yield
        return
    from opentelemetry import propagate, trace

    parent = propagate.extract(kafka_trace_headers(headers))
    with _tracer.start_as_current_span(
        name, context=parent, kind=trace.SpanKind.CONSUMER, attributes=attributes
    ):
        yield


def reset_for_tests() -> None:
    """Tracing off again (a test that turned it on), its instrumentations removed."""
    global _provider, _tracer
    if _provider is None:
        return
    from opentelemetry.instrumentation.aiokafka import AIOKafkaInstrumentor
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    for instrumentor in (
        AsyncPGInstrumentor(),  # type: ignore[no-untyped-call]
        HTTPXClientInstrumentor(),
        AIOKafkaInstrumentor(),
    ):
        instrumentor.uninstrument()
    _provider.shutdown()
    _provider = None
    _tracer = None
