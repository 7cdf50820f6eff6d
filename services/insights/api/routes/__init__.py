"""The insights API, one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.insights.api.routes import dead_letters, kpis

# In this order, the order of the OpenAPI document's paths.
ROUTERS: list[APIRouter] = [kpis.router, dead_letters.router]
