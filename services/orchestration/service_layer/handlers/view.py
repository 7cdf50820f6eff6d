"""Orchestration's view of inventory, kept from inventory's events (the unit of work's
RoutingView)."""

from __future__ import annotations

from services.orchestration.domain import commands
from services.orchestration.service_layer.unit_of_work import LocationRow, UnitOfWork


async def project_location(cmd: commands.ProjectLocation, uow: UnitOfWork) -> None:
    uow.routing.location_changed(
        LocationRow(
            code=cmd.code,
            type=cmd.type,
            active=cmd.active,
            capabilities=list(cmd.capabilities),
            country=cmd.country,
            latitude=cmd.latitude,
            longitude=cmd.longitude,
            priority=cmd.priority,
            daily_capacity=cmd.daily_capacity,
            processing_days=cmd.processing_days,
            cutoff=cmd.cutoff,
            timezone=cmd.timezone,
            version=cmd.version,
        )
    )
    if cmd.active:
        # A location that is active again (or changed) may serve what waits for its stock:
        # the worker wakes those orders as for changed stock. A new location's stock comes
        # in stock events of its own.
        await uow.routing.touch_stock_of(cmd.code)


async def project_stock(cmd: commands.ProjectStock, uow: UnitOfWork) -> None:
    uow.routing.stock_changed(cmd.sku, cmd.location_code, cmd.available)


async def project_incoming(cmd: commands.ProjectIncoming, uow: UnitOfWork) -> None:
    uow.routing.incoming_changed(cmd.sku, cmd.location_code, cmd.incoming)
