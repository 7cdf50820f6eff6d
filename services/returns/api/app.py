from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from libs.http.app import create_service_app
from libs.runtime import PARTS, ServiceContainer
from services.returns.adapters.tables import plumbing
from services.returns.api.routes import ROUTERS


def create_app(container: ServiceContainer, parts: Sequence[str] = PARTS) -> FastAPI:
    return create_service_app(
        container=container,
        parts=parts,
        title="OMS returns",
        version="2.1.0",
        description="Return policy, RMAs, receiving and inspection, restock, refunds, exchanges.",
        audit_log=plumbing.audit,
        routers=ROUTERS,
    )
