"""One JSON line per HTTP request: method, route template, status, duration, correlation and
trace ids (the `http.access` event of the service's structlog output).

Pure ASGI and placed just inside the metrics middleware, so a request refused at the edge
(an overloaded process's 503, a body too large) has its line too. The probes and the scrape
are left out while they succeed: an orchestrator polls them every few seconds, and a line
each would bury the requests an operator looks for. The route is the template
(`/v1/orders/{order_id}`), as the metrics label it; the raw path would put customers' ids
in the log.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.observability.correlation import CORRELATION_SCOPE_KEY
from libs.observability.logging import get_logger
from libs.observability.metrics import route_label
from libs.observability.tracing import current_trace_id

log = get_logger("http.access")

QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception no handler answered reaches Starlette's 500 outside us

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            if status >= 400 or scope["path"] not in QUIET_PATHS:
                log.info(
                    "http.access",
                    method=scope["method"],
                    route=route_label(scope),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                    # The correlation scope ended with the inner middleware: from its scope key.
                    correlation_id=scope.get(CORRELATION_SCOPE_KEY),
                    trace_id=current_trace_id(),
                )
