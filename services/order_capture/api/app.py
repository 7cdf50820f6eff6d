from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from libs.http.app import create_service_app
from libs.runtime import PARTS, ServiceContainer
from services.order_capture.adapters.tables import plumbing
from services.order_capture.api.routes import orders, self_service
from services.order_capture.service_layer.handlers.placing import OrderCaptureContainer


def create_app(container: ServiceContainer, parts: Sequence[str] = PARTS) -> FastAPI:
    if not isinstance(container, OrderCaptureContainer):
        # The placing hot path of POST /orders comes with the container bootstrap builds.
        raise TypeError("order-capture's app runs on the container of its bootstrap")
    app = create_service_app(
        container=container,
        parts=parts,
        title="OMS order-capture",
        version="3.0.0",
        description="Multi-channel order intake: the order's system of record and status hub.",
        audit_log=plumbing.audit,
        routers=[orders.router, self_service.router],
    )
    app.state.placing = container.placing
    return app
