"""The scopes a token can carry: one per resource and action, plus `admin`, which holds them all."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    INVENTORY_READ = "inventory:read"
    INVENTORY_RESERVE = "inventory:reserve"
    INVENTORY_ADJUST = "inventory:adjust"
    FULFILLMENT_WRITE = "fulfillment:write"
    RETURNS_WRITE = "returns:write"
    REFUNDS_WRITE = "refunds:write"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"
    NOTIFICATIONS_READ = "notifications:read"
    NOTIFICATIONS_WRITE = "notifications:write"
    ADMIN = "admin"
