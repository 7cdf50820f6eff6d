from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from libs.http.app import create_service_app
from libs.runtime import PARTS, ServiceContainer
from services.notifications.adapters.metrics import PENDING_READ
from services.notifications.adapters.tables import plumbing
from services.notifications.api.routes import ROUTERS


def create_app(container: ServiceContainer, parts: Sequence[str] = PARTS) -> FastAPI:
    return create_service_app(
        container=container,
        parts=parts,
        title="OMS notifications",
        version="0.3.0",
        description="Webhook endpoints, the deliveries of the events they subscribe to (signed "
        "per Standard Webhooks, in order per order, retried with backoff) and the ledger of "
        "every attempt: a delivery can be sent again, an endpoint's deliveries replayed since "
        "a time, and a test ping sent. Customer e-mail notifications: the ledger of each "
        "order's messages, a resend, and the opt-out.",
        audit_log=plumbing.audit,
        routers=ROUTERS,
        scrape_reads=[PENDING_READ],
    )
