"""The notifications API, one module per resource: webhook endpoints (and their deliveries)."""

from __future__ import annotations

from fastapi import APIRouter

from services.notifications.api.routes import webhook_endpoints

# In this order, the order of the OpenAPI document's paths.
ROUTERS: list[APIRouter] = [webhook_endpoints.router]
