"""Composition root of inventory: the one place that picks concrete classes."""

from __future__ import annotations

from typing import Any

from libs.bootstrap import build_container
from libs.runtime import ServiceContainer
from services.inventory.adapters.tables import plumbing
from services.inventory.config import InventorySettings
from services.inventory.messaging.subscriptions import SUBSCRIPTIONS
from services.inventory.service_layer.handlers import HANDLERS
from services.inventory.service_layer.unit_of_work import InventoryUnitOfWork


def bootstrap(settings: InventorySettings | None = None, **overrides: Any) -> ServiceContainer:
    return build_container(
        settings=settings or InventorySettings(),
        tables=plumbing,
        uow_class=InventoryUnitOfWork,
        handlers=HANDLERS,
        subscriptions=SUBSCRIPTIONS,
        **overrides,
    )
