from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from libs.http.app import create_service_app
from libs.runtime import ServiceContainer
from services.inventory.api.routes import reservations, stock


def create_app(
    container: ServiceContainer, parts: Sequence[str] = ("api", "relay", "consumer")
) -> FastAPI:
    return create_service_app(
        container=container,
        parts=parts,
        title="OMS inventory",
        description="Stock per location, available-to-promise, reservations that never oversell.",
        routers=[stock, reservations],
    )
