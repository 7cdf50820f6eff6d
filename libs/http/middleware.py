"""Pure ASGI middleware binding the request's correlation id (header in, header out)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.auth.actor import actor_scope
from libs.http.problem_codes import ProblemCode
from libs.http.problems import PROBLEM_JSON, problem_response
from libs.observability.correlation import (
    CORRELATION_HEADER,
    CORRELATION_SCOPE_KEY,
    correlation_scope,
)

_HEADER = CORRELATION_HEADER.lower().encode()
MAX_CORRELATION_ID = 128


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(_HEADER, b"").decode("latin-1")[:MAX_CORRELATION_ID]
        with correlation_scope(incoming or None) as correlation_id:
            scope[CORRELATION_SCOPE_KEY] = correlation_id

            async def send_with_header(message: Message) -> None:
                if message["type"] == "http.response.start":
                    MutableHeaders(scope=message)[CORRELATION_HEADER] = correlation_id
                await send(message)

            await self.app(scope, receive, send_with_header)


class ActorMiddleware:
    """Opens the request's actor scope (see libs.auth.actor); the token check names the client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with actor_scope() as actor:
            actor.operation = f"{scope['method']} {scope['path']}"
            await self.app(scope, receive, send)


class AdmissionControl:
    """Sheds load instead of queueing it: with `max_in_flight` requests already being served
    by this process, the next one is answered at once with 503 `overloaded` and Retry-After.

    Without it a process takes every request it is sent and serves them all slower, until
    clients time out having been served by nobody; with it, the requests it accepts keep
    the latency of a busy but not drowning process, and the others learn to come back in a
    moment (cheaply: the body is never read). Liveness and readiness probes and the metrics
    scrape are never shed.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int,
        retry_after_s: int = 1,
        # The probes, and the scrape that shows an operator why the process is so busy.
        exempt: frozenset[str] = frozenset({"/healthz", "/readyz", "/metrics"}),
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.retry_after_s = retry_after_s
        self.exempt = exempt
        self.in_flight = 0
        self.shed = 0  # requests refused since start
        # Rendered once: a process refusing hundreds of requests a second must do it cheaply.
        refusal = problem_response(
            status=503,
            code=ProblemCode.OVERLOADED,
            title="The service is at capacity; retry after the time in Retry-After",
        )
        self._refusal_body = bytes(refusal.body)
        self._refusal_headers = {"Retry-After": str(retry_after_s)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            self.shed += 1
            response = Response(
                self._refusal_body,
                status_code=503,
                headers=self._refusal_headers,
                media_type=PROBLEM_JSON,
            )
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


MAX_BODY_BYTES = 1024 * 1024


class BodySizeLimitMiddleware:
    """413 for bodies over the limit, judged by Content-Length and, for chunked bodies, by
    counting as they stream in: a large body is never read into memory to be refused.

    `limits` raises (or lowers) the limit under given path prefixes, for the few endpoints
    that stream large files (a bulk import); every other path keeps `max_bytes`.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Longest prefix first, so a more specific prefix wins.
        self.limits = sorted((limits or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await self._refuse(scope, receive, send, max_bytes)
            return
        received = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # Answer now; whatever the app makes of the aborted body is dropped below.
                    refused = True
                    await self._refuse(scope, receive, send, max_bytes)
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, counting_receive, guarded_send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        response = problem_response(
            status=413,
            code=ProblemCode.PAYLOAD_TOO_LARGE,
            title="The request body is larger than the service accepts",
            detail=f"bodies are limited to {max_bytes} bytes",
        )
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass
