from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from libs.http.app import create_service_app
from libs.runtime import PARTS, ServiceContainer
from services.insights.adapters.tables import plumbing
from services.insights.api.routes import ROUTERS
from services.insights.api.routes.console import install_console


def create_app(container: ServiceContainer, parts: Sequence[str] = PARTS) -> FastAPI:
    app = create_service_app(
        container=container,
        parts=parts,
        title="OMS insights",
        version="0.1.0",
        description="Key figures of the order flow (orders and revenue, lead times, on-time "
        "dispatch, split, backorder, hold, cancellation and return rates, refunds, stock-outs, "
        "fulfilment by location), projected from the business events as they happen, each "
        "table also as CSV; and the operations console at /console/.",
        audit_log=plumbing.audit,
        routers=ROUTERS,
    )
    # The operations console's pages (not part of the API: no /v1, not in the OpenAPI document).
    install_console(app, container)
    return app
