from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from libs.http.app import create_service_app
from libs.runtime import PARTS, ServiceContainer
from services.orchestration.api.routes import router


def create_app(container: ServiceContainer, parts: Sequence[str] = PARTS) -> FastAPI:
    return create_service_app(
        container=container,
        parts=parts,
        title="OMS orchestration",
        description="The order saga, routing, fulfilment, carriers and payments.",
        routers=[router],
    )
