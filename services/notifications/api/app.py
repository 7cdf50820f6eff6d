from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from libs.http.app import create_service_app
from libs.runtime import PARTS, ServiceContainer
from services.notifications.adapters.tables import plumbing
from services.notifications.api.routes import ROUTERS


def create_app(container: ServiceContainer, parts: Sequence[str] = PARTS) -> FastAPI:
    return create_service_app(
        container=container,
        parts=parts,
        title="OMS notifications",
        version="0.2.0",
        description="Webhook endpoints and the deliveries of the events they subscribe to "
        "(signed per Standard Webhooks). Sending the deliveries is not built yet: they wait "
        "as pending. Customer e-mail notifications: the ledger of each order's messages, a "
        "resend, and the opt-out.",
        audit_log=plumbing.audit,
        routers=ROUTERS,
    )
