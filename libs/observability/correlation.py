"""Correlation and causation ids that follow one business flow across services.

The HTTP edge sets the correlation id from `X-Correlation-ID` (or makes one); the outbox writer
stamps it on every event; a consumer restores it from the event it handles, with that event's id
as the causation id, so the next event it emits continues the same story.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import structlog

from libs.ids import new_id

CORRELATION_HEADER = "X-Correlation-ID"
# Where the HTTP middleware leaves the request's correlation id in its ASGI scope, for the
# answer to an unhandled exception, which Starlette gives outside every middleware.
CORRELATION_SCOPE_KEY = "oms.correlation_id"
KAFKA_CORRELATION_HEADER = "correlation-id"
KAFKA_CAUSATION_HEADER = "causation-id"

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_causation_id: ContextVar[str | None] = ContextVar("causation_id", default=None)


def current_correlation_id() -> str:
    value = _correlation_id.get()
    if value is None:
        value = str(new_id())
        _correlation_id.set(value)
    return value


def current_causation_id() -> str | None:
    return _causation_id.get()


@contextmanager
def correlation_scope(correlation_id: str | None, causation_id: str | None = None) -> Iterator[str]:
    """Bind ids for the duration of one request or one consumed message (logs included)."""
    cid = correlation_id or str(new_id())
    token_c = _correlation_id.set(cid)
    token_k = _causation_id.set(causation_id)
    with structlog.contextvars.bound_contextvars(correlation_id=cid, causation_id=causation_id):
        try:
            yield cid
        finally:
            _correlation_id.reset(token_c)
            _causation_id.reset(token_k)
