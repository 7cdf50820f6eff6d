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
    ADMIN = "admin"


SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.ORDERS_READ: "Read orders, their timelines, sagas, fulfilments, payments and returns",
    Scope.ORDERS_WRITE: "Place, edit and cancel orders",
    Scope.INVENTORY_READ: "Read locations, stock, movements, inbound stock and availability",
    Scope.INVENTORY_RESERVE: "Reserve, confirm, release and commit stock",
    Scope.INVENTORY_ADJUST: "Set and adjust stock, import stock, receive inbound stock",
    Scope.FULFILLMENT_WRITE: "Accept, reject, pick, pack, ship, hand over and deliver fulfilments",
    Scope.RETURNS_WRITE: "Open, approve, reject and receive returns",
    Scope.REFUNDS_WRITE: "Retry refunds",
    Scope.ADMIN: "Every scope, and configuration: locations, routing strategy, return policy, "
    "audit log, invariants",
}
