"""RFC 9457 problem details: every error a client sees, with a stable machine-readable code."""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from libs.db.driver import is_disconnect
from libs.db.errors import (
    is_retryable_conflict,
    is_unavailable,
    raised_by_database,
    sqlstate_of,
)
from libs.errors import (
    Conflict,
    DependencyUnavailable,
    DomainError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    TooManyRequests,
    Unauthenticated,
    Unprocessable,
)
from libs.http.problem_codes import ProblemCode
from libs.observability.correlation import CORRELATION_HEADER, CORRELATION_SCOPE_KEY
from libs.observability.logging import get_logger

PROBLEM_JSON = "application/problem+json"

log = get_logger(__name__)


class FieldError(BaseModel):
    field: str = Field(examples=["lines.0.quantity"])
    message: str = Field(examples=["Input should be greater than 0"])


class Problem(BaseModel):
    """An RFC 9457 problem details document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:oms:problem:validation_error",
                    "title": "The request is invalid",
                    "status": 422,
                    "detail": "1 field is invalid",
                    "code": "validation_error",
                    "errors": [
                        {"field": "lines.0.quantity", "message": "Input should be greater than 0"}
                    ],
                }
            ]
        }
    )

    type: str
    title: str
    status: int
    detail: str | None = None
    code: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    extensions: dict[str, Any] | None = None


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    extensions: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=f"urn:oms:problem:{code}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        errors=errors,
        extensions=dict(extensions) if extensions else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers) if headers else None,
    )


# Kind of domain error -> HTTP status. The one table; services add their own subclasses' codes.
DEFAULT_STATUS: dict[type[DomainError], int] = {
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooManyRequests: 429,
    Unprocessable: 422,
    PreconditionFailed: 412,
    PreconditionRequired: 428,
    DependencyUnavailable: 503,
    DomainError: 422,
}


def status_for(exc: DomainError, table: Mapping[type[DomainError], int]) -> int:
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    return 422


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


def install_problem_handlers(app: FastAPI, status_table: Mapping[type[DomainError], int]) -> None:
    table = {**DEFAULT_STATUS, **status_table}

    async def on_domain_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(
            status=status_for(exc, table),
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            extensions=exc.extra or None,
            headers=exc.headers or None,
        )

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            FieldError(field=_field_of(tuple(e.get("loc", ()))), message=str(e.get("msg", "")))
            for e in exc.errors()
        ]
        malformed = any(e.get("type") == "json_invalid" for e in exc.errors())
        return problem_response(
            status=422,
            code=ProblemCode.MALFORMED_JSON if malformed else ProblemCode.VALIDATION_ERROR,
            title="The request body is not valid JSON" if malformed else "The request is invalid",
            detail=f"{len(errors)} field(s) invalid",
            errors=errors,
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:
            # Starlette's "error parsing the body" (bytes that are not even text): the same
            # answer as any other body that is not JSON.
            return problem_response(
                status=422,
                code=ProblemCode.MALFORMED_JSON,
                title="The request body is not valid JSON",
                detail=str(exc.detail) if exc.detail else None,
            )
        headers = exc.headers
        if exc.status_code == 405:
            # Starlette names only the methods of the first route whose path matched; RFC 9110
            # wants every method the resource supports.
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        codes = {
            404: ProblemCode.NOT_FOUND,
            405: ProblemCode.METHOD_NOT_ALLOWED,
            413: ProblemCode.PAYLOAD_TOO_LARGE,
        }
        return problem_response(
            status=exc.status_code,
            code=codes.get(exc.status_code, f"http_{exc.status_code}"),
            title=str(exc.detail) if exc.detail else "HTTP error",
            headers=headers,
        )

    async def on_database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.warning("http.database_unavailable", error=repr(exc))
        return problem_response(
            status=503,
            code=ProblemCode.DATABASE_UNAVAILABLE,
            title="The service's database is unreachable; retry later",
            headers={"Retry-After": "2"},
        )

    async def on_pool_exhausted(_: Request, exc: Exception) -> JSONResponse:
        # Every database connection stayed busy for the pool timeout: overload, not a bug.
        log.warning("http.database_busy", error=repr(exc))
        return problem_response(
            status=503,
            code=ProblemCode.DATABASE_BUSY,
            title="The service is at capacity; retry later",
            headers={"Retry-After": "2"},
        )

    async def on_os_error(request: Request, exc: Exception) -> JSONResponse:
        # A refused or reset connection is the database's only when the database client
        # raised it; the same error from anywhere else is another dependency, or a bug.
        if raised_by_database(exc):
            return await on_database_unavailable(request, exc)
        if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
            log.warning("http.dependency_unavailable", error=repr(exc))
            return problem_response(
                status=503,
                code=ProblemCode.DEPENDENCY_UNAVAILABLE,
                title="A service this request depends on is unreachable; retry later",
                headers={"Retry-After": "2"},
            )
        return await on_unexpected(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        response = await answer_unexpected(request, exc)
        # Starlette answers an exception no other handler took outside every middleware, the
        # correlation one too: the id that request was given goes back on from its scope.
        correlation_id = request.scope.get(CORRELATION_SCOPE_KEY)
        if correlation_id:
            response.headers[CORRELATION_HEADER] = correlation_id
        return response

    async def answer_unexpected(_: Request, exc: Exception) -> JSONResponse:
        if is_retryable_conflict(exc):
            # PostgreSQL rolled the transaction back for another's sake (a deadlock, a
            # serialization failure): nothing was written, and the same request goes through.
            log.warning("http.transaction_conflict", sqlstate=sqlstate_of(exc))
            return problem_response(
                status=503,
                code=ProblemCode.TRANSACTION_CONFLICT,
                title="The request collided with another; retry it",
                headers={"Retry-After": "1"},
            )
        if is_unavailable(exc):
            # The database is starting, recovering or shutting down (asyncpg raises these
            # while connecting, so SQLAlchemy has no invalidated connection to say so):
            # nothing was written, and the same request goes through once it is back.
            return await on_database_unavailable(_, exc)
        # Logged with its stack for us; the client sees no trace and no SQL.
        log.exception("http.unhandled_error", error_type=type(exc).__name__)
        if (isinstance(exc, DBAPIError) and exc.connection_invalidated) or is_disconnect(exc):
            return await on_database_unavailable(_, exc)
        if sqlstate_of(exc) in UNSTORABLE_TEXT:
            # Text PostgreSQL cannot store (a NUL character): the client's input, not our bug.
            # The transaction rolled back, so nothing was half-written.
            return problem_response(
                status=422,
                code=ProblemCode.INVALID_TEXT,
                title="The request contains a character that cannot be stored (NUL)",
            )
        return problem_response(
            status=500, code=ProblemCode.INTERNAL_ERROR, title="Internal server error"
        )

    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(OperationalError, on_database_unavailable)
    app.add_exception_handler(InterfaceError, on_database_unavailable)
    app.add_exception_handler(ConnectionError, on_os_error)
    app.add_exception_handler(OSError, on_os_error)
    app.add_exception_handler(PoolTimeout, on_pool_exhausted)
    app.add_exception_handler(Exception, on_unexpected)


# Text with a NUL character: PostgreSQL's "invalid byte sequence for encoding" (22021) for
# text, "unsupported Unicode escape sequence" (22P05) for a \u0000 in JSONB (a payment token
# kept in the saga's working detail, say).
UNSTORABLE_TEXT = frozenset({"22021", "22P05"})


def allowed_methods(request: Request) -> list[str]:
    """Every method the app serves at this request's path, from its OpenAPI paths (FastAPI
    nests included routers, so its route list does not say it). As in OpenAPI, a literal path
    (/stock/adjustments) wins over a template that also matches it (/stock/{sku})."""
    app = request.app
    table: list[tuple[re.Pattern[str], bool, set[str]]] | None = getattr(
        app.state, "allow_table", None
    )
    if table is None:
        table = [
            (compile_path(path)[0], "{" not in path, {method.upper() for method in operations})
            for path, operations in app.openapi()["paths"].items()
        ]
        app.state.allow_table = table
    matching = [
        (literal, served) for pattern, literal, served in table if pattern.match(request.url.path)
    ]
    if any(literal for literal, _ in matching):
        matching = [(literal, served) for literal, served in matching if literal]
    return sorted({method for _, served in matching for method in served})


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries declaring problem+json for the given statuses."""
    descriptions = {
        400: "Bad request",
        401: "Missing or invalid credentials",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict with the current state, a duplicate, or a reused Idempotency-Key",
        412: "The resource changed since the given ETag",
        413: "The request body is larger than the service accepts",
        428: "The update needs an If-Match header",
        422: "Invalid request",
        429: "Too many requests",
        503: "A dependency is unreachable, or the service is at capacity (`overloaded`); "
        "retry after the seconds in Retry-After",
    }
    return {
        s: {
            "description": descriptions.get(s, "Error"),
            "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in statuses
    }
