"""The FastAPI application every service shares: health, readiness, problems, correlation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy import Table

from libs.errors import DomainError
from libs.http.audit import audit_router
from libs.http.auth import SAFE_METHODS, SECURITY_SCHEME
from libs.http.middleware import (
    ActorMiddleware,
    AdmissionControl,
    BodySizeLimitMiddleware,
    CorrelationMiddleware,
)
from libs.http.openapi_examples import add_operation_examples
from libs.http.openapi_language import (
    declare_problem_codes,
    declare_response_headers,
    service_problem_codes,
)
from libs.http.problems import install_problem_handlers, problem_responses
from libs.observability import metrics as prometheus
from libs.observability import tracing
from libs.observability.access_log import log_access
from libs.runtime import ServiceContainer, database_ready, kafka_ready, lifespan_for


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(examples=["ready"])
    checks: dict[str, bool] = Field(examples=[{"database": True, "kafka": True}])


def operation_id(route: APIRoute) -> str:
    """Stable, readable operation ids: `<tag>-<function>` (e.g. `orders-create`)."""
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag}-{route.name.rstrip('_').replace('_', '-')}"


def create_service_app(
    *,
    container: ServiceContainer,
    parts: Sequence[str],
    title: str,
    version: str,
    description: str,
    routers: Sequence[APIRouter],
    audit_log: Table,
    status_table: Mapping[type[DomainError], int] | None = None,
    body_limits: Mapping[str, int] | None = None,
    scrape_reads: Sequence[prometheus.ScrapeRead] = (),
) -> FastAPI:
    """The service's app. `version` is its API's (semantic) version: the major part changes
    with a breaking change (the gate, tools/compat.py, refuses one without it), the minor part
    with an addition. `body_limits` maps path prefixes to a body size limit other than the
    default 1 MiB (e.g. an upload endpoint); everything else keeps the default.
    `scrape_reads`: the service's own families read from its database at each scrape of
    `/metrics`, beside the outbox's every service has."""
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan_for(container, parts),
        generate_unique_id_function=operation_id,
        openapi_tags=[{"name": "health", "description": "Liveness and readiness probes"}],
    )
    app.add_middleware(BodySizeLimitMiddleware, limits=body_limits)
    app.add_middleware(ActorMiddleware)
    # Inside the correlation id (a refused request still gets one), before any other work.
    app.add_middleware(AdmissionControl, max_in_flight=container.settings.HTTP_MAX_IN_FLIGHT)
    app.add_middleware(CorrelationMiddleware)
    # Outermost: a request's time includes the whole edge, and a refused one is counted (and
    # its access log line written) too.
    app.add_middleware(
        prometheus.HttpMetricsMiddleware,
        access_log=log_access if container.settings.ACCESS_LOG else None,
    )
    # Outside even that when tracing is on (the server span): nothing when it is off.
    tracing.instrument_app(app)
    install_problem_handlers(app, status_table or {})
    app.include_router(health_router())
    app.include_router(metrics_router(container, scrape_reads))
    for router in [*routers, audit_router(audit_log)]:
        app.include_router(router, prefix="/v1")
    _with_shared_declarations(app, problem_codes=service_problem_codes(routers))
    checked = tuple(id(router) for router in routers)
    if checked not in _FOUND_GUARDED:
        refuse_unguarded_operations(app.openapi())
        _FOUND_GUARDED[checked] = tuple(routers)
    return app


# The route sets this process has already checked: the check reads the whole OpenAPI document,
# which takes about 0.6 s to generate, and the same routers always give the same answer (the
# tests build a service's app once per test, hundreds of times). The document itself is still
# generated, once per app, when it is first asked for. Routers are not hashable: they are known
# by identity, and kept here so that no identity is reused by another router.
_FOUND_GUARDED: dict[tuple[int, ...], tuple[APIRouter, ...]] = {}


def _with_shared_declarations(app: FastAPI, *, problem_codes: list[str]) -> None:
    """The document FastAPI generates, plus what every service declares alike: examples,
    the problems the shared edge can answer, the problem codes and the response headers."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = declare_implied_problems(add_operation_examples(generate()))
            doc = declare_problem_codes(doc, problem_codes)
            app.openapi_schema = declare_response_headers(doc)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def declare_implied_problems(doc: dict[str, Any]) -> dict[str, Any]:
    """Declares the problems a shared part of the edge can answer, wherever that part is used,
    so no route can forget one: any API operation can be refused when the process is at
    capacity (503 `overloaded`); an Idempotency-Key can be reused with another body (409); a
    token can be missing or invalid (401) or lack the scope (403); writes and self-service
    are rate limited (429). An operation without a token requirement says so (`security: []`).
    """
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            implied: list[int] = []
            if "Idempotency-Key" in headers:
                implied.append(409)
            if path.startswith("/v1/"):
                implied.append(503)  # AdmissionControl refuses any of them when at capacity
            if operation.get("security"):
                implied += [401, 403]
                if method.upper() not in SAFE_METHODS:
                    implied.append(429)
            else:
                operation["security"] = []
                if path.startswith(SELF_SERVICE_PREFIX):
                    implied.append(429)
            for status, problem in problem_responses(*implied).items():
                operation["responses"].setdefault(
                    str(status),
                    {"description": problem["description"], "content": problem["content"]},
                )
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return doc


SELF_SERVICE_PREFIX = "/v1/self-service/"


def refuse_unguarded_operations(doc: dict[str, Any]) -> None:
    """Fails closed: an API operation that names no scope (a route that forgot its token
    check) stops the service from starting, rather than serving anyone."""
    unguarded = [
        f"{method.upper()} {path}"
        for path, operations in doc.get("paths", {}).items()
        if path.startswith("/v1/") and not path.startswith(SELF_SERVICE_PREFIX)
        for method, operation in operations.items()
        if not any(requirement.get(SECURITY_SCHEME) for requirement in operation["security"])
    ]
    if unguarded:
        raise RuntimeError(f"operations without a token requirement: {unguarded}")


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness: the process is up")
    async def healthz() -> Health:
        """Answers as long as the process serves HTTP."""
        return Health(status="ok")

    @router.get(
        "/readyz",
        summary="Readiness: the database and Kafka are reachable",
        responses={
            200: {"model": Readiness, "description": "Ready"},
            503: {"model": Readiness, "description": "A dependency is unreachable"},
        },
    )
    async def readyz(request: Request) -> Any:
        """200 when the database and the Kafka broker answer; 503 naming which does not."""
        container: ServiceContainer = request.app.state.container
        checks = {
            "database": await database_ready(container.engine),
            "kafka": await kafka_ready(container.settings.KAFKA_BOOTSTRAP_SERVERS),
        }
        ready = all(checks.values())
        body = Readiness(status="ready" if ready else "not_ready", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)

    return router


def metrics_router(
    container: ServiceContainer, scrape_reads: Sequence[prometheus.ScrapeRead] = ()
) -> APIRouter:
    """`GET /metrics` (libs.observability.metrics). Like the probes it takes no token: it is
    for Prometheus on the cluster network (docs/security.md). It stays out of the OpenAPI
    document: it is an operator's endpoint in Prometheus' format, not part of the API."""
    router = APIRouter()
    engine = container.engine
    reads = [prometheus.outbox_read(container.outbox.table), *scrape_reads]

    @router.get(prometheus.METRICS_PATH, include_in_schema=False)
    async def metrics() -> Response:
        families = await prometheus.read_all_at_scrape(engine, reads)
        return Response(prometheus.render(families), media_type=prometheus.CONTENT_TYPE)

    return router
