"""The insights API, one module per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.insights.api.routes import kpis

# In this order, the order of the OpenAPI document's paths.
ROUTERS: list[APIRouter] = [kpis.router]
