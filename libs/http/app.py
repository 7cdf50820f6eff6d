"""The FastAPI application every service shares: health, readiness, problems, correlation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from libs.errors import DomainError
from libs.http.middleware import BodySizeLimitMiddleware, CorrelationMiddleware
from libs.http.openapi_examples import add_operation_examples
from libs.http.problems import install_problem_handlers, problem_responses
from libs.runtime import ServiceContainer, database_ready, kafka_ready, lifespan_for

API_VERSION = "1.0.0"


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
    description: str,
    routers: Sequence[APIRouter],
    status_table: Mapping[type[DomainError], int] | None = None,
    body_limits: Mapping[str, int] | None = None,
) -> FastAPI:
    """The service's app. `body_limits` maps path prefixes to a body size limit other than
    the default 1 MiB (e.g. an upload endpoint); everything else keeps the default."""
    app = FastAPI(
        title=title,
        description=description,
        version=API_VERSION,
        lifespan=lifespan_for(container, parts),
        generate_unique_id_function=operation_id,
        openapi_tags=[{"name": "health", "description": "Liveness and readiness probes"}],
    )
    app.add_middleware(BodySizeLimitMiddleware, limits=body_limits)
    app.add_middleware(CorrelationMiddleware)
    install_problem_handlers(app, status_table or {})
    app.include_router(health_router())
    for router in routers:
        app.include_router(router, prefix="/v1")
    _with_operation_examples(app)
    return app


def _with_operation_examples(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_implied_problems(add_operation_examples(generate()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def declare_implied_problems(doc: dict[str, Any]) -> dict[str, Any]:
    """Declares the problems a shared part of the edge can answer, wherever that part is used,
    so no route can forget one: an Idempotency-Key can be reused with another body (409)."""
    conflict = problem_responses(409)[409]
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if "Idempotency-Key" in headers and "409" not in operation["responses"]:
                operation["responses"]["409"] = {
                    "description": conflict["description"],
                    "content": conflict["content"],
                }
                operation["responses"] = dict(sorted(operation["responses"].items()))
    return doc


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
