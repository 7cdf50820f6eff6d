from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from libs.http.app import create_service_app
from libs.runtime import PARTS, ServiceContainer
from services.order_capture.adapters.placements import OrderPlacements
from services.order_capture.adapters.tables import plumbing
from services.order_capture.api.routes import router, self_service
from services.order_capture.service_layer.placing import Placing


def create_app(container: ServiceContainer, parts: Sequence[str] = PARTS) -> FastAPI:
    app = create_service_app(
        container=container,
        parts=parts,
        title="OMS order-capture",
        version="3.0.0",
        description="Multi-channel order intake: the order's system of record and status hub.",
        audit_log=plumbing.audit,
        routers=[router, self_service],
    )
    app.state.placing = Placing(
        placements=OrderPlacements(
            pool=container.raw_pool, outbox=container.outbox, idempotency=plumbing.idempotency
        ),
        bus=container.bus,
        clock=container.clock,
    )
    return app
