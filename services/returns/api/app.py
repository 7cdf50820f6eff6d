from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from libs.http.app import create_service_app
from libs.runtime import PARTS, ServiceContainer


def create_app(container: ServiceContainer, parts: Sequence[str] = PARTS) -> FastAPI:
    # The returns API (policy, RMAs, receiving, refunds) arrives with its issue; until then the
    # service runs its consumer, building its own projection of placed orders.
    return create_service_app(
        container=container,
        parts=parts,
        title="OMS returns",
        description="Return policy, RMAs, receiving and inspection, restock, refunds, exchanges.",
        routers=[],
    )
