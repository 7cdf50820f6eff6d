from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from libs.http.app import create_service_app
from libs.runtime import PARTS, ServiceContainer
from services.inventory.adapters.tables import plumbing
from services.inventory.api.routes import (
    availability,
    imports,
    inbound,
    locations,
    reservations,
    stock,
)


def create_app(container: ServiceContainer, parts: Sequence[str] = PARTS) -> FastAPI:
    return create_service_app(
        container=container,
        parts=parts,
        title="OMS inventory",
        version="2.1.0",
        description="Locations, stock per location with its ledger, available-to-promise, "
        "incoming stock, backorders and reservations that never oversell.",
        # Before stock: GET /stock/imports must not be taken for GET /stock/{sku}.
        audit_log=plumbing.audit,
        routers=[
            locations.router,
            imports.router,
            stock.router,
            inbound.router,
            availability.router,
            reservations.router,
            availability.checks,
        ],
        body_limits={imports.IMPORTS_PATH: imports.MAX_IMPORT_BYTES},
    )
