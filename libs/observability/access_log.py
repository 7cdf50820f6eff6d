"""One JSON line per HTTP request: method, route template, status, duration, correlation and
trace ids (the `http.access` event of the service's structlog output).

Written by the metrics middleware (libs.observability.metrics.HttpMetricsMiddleware, the
outermost of the app's own) with the status and duration it already measured, so a request
refused at the edge (an overloaded process's 503, a body too large) has its line too, and a
request is timed once. The probes and the scrape are left out while they succeed: an
orchestrator polls them every few seconds, and a line each would bury the requests an
operator looks for. The route is the template (`/v1/orders/{order_id}`), as the metrics label
it; the raw path would put customers' ids in the log.
"""

from __future__ import annotations

from starlette.types import Scope

from libs.observability.correlation import CORRELATION_SCOPE_KEY
from libs.observability.logging import get_logger
from libs.observability.metrics import route_label
from libs.observability.tracing import current_trace_id

log = get_logger("http.access")

QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def log_access(scope: Scope, status: int, seconds: float) -> None:
    """The request's line, once it was answered (`status`) after `seconds`."""
    if status >= 400 or scope["path"] not in QUIET_PATHS:
        log.info(
            "http.access",
            method=scope["method"],
            route=route_label(scope),
            status=status,
            duration_ms=round(seconds * 1000, 3),
            # The correlation scope ended with the inner middleware: from its scope key.
            correlation_id=scope.get(CORRELATION_SCOPE_KEY),
            trace_id=current_trace_id(),
        )
