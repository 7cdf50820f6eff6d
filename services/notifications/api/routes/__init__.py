"""The notifications API, one module per resource: webhook endpoints (and their deliveries),
and customer notifications (and their opt-outs)."""

from __future__ import annotations

from fastapi import APIRouter

from services.notifications.api.routes import notifications, webhook_endpoints

# In this order, the order of the OpenAPI document's paths.
ROUTERS: list[APIRouter] = [webhook_endpoints.router, notifications.router]
