"""The returns API, one module per resource: the policy, returns (staff), self-service."""

from __future__ import annotations

from fastapi import APIRouter

from services.returns.api.routes import policy, returns, self_service

# In this order, the order of the OpenAPI document's paths.
ROUTERS: list[APIRouter] = [policy.router, returns.router, self_service.router]
