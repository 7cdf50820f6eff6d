from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from libs.http.app import create_service_app
from libs.runtime import PARTS, ServiceContainer
from services.orchestration.adapters.metrics import SAGAS_READ
from services.orchestration.adapters.tables import plumbing
from services.orchestration.api.routes import fulfillments, review, routing, sagas


def create_app(container: ServiceContainer, parts: Sequence[str] = PARTS) -> FastAPI:
    return create_service_app(
        container=container,
        parts=parts,
        title="OMS orchestration",
        version="3.0.0",
        description="The order saga, the explainable routing engine, delivery promises, "
        "fulfilment orders, carriers and payments; holds and manual review.",
        audit_log=plumbing.audit,
        routers=[sagas.router, review.router, routing.router, fulfillments.router],
        scrape_reads=[SAGAS_READ],
    )
