"""Locations: create and change the places that hold stock."""

from __future__ import annotations

from dataclasses import replace

from services.inventory.domain import commands, events
from services.inventory.domain.errors import LocationExists, LocationNotFound
from services.inventory.service_layer.handlers.common import replayed
from services.inventory.service_layer.unit_of_work import UnitOfWork

SCOPE_CREATE = "locations-create"


async def create_location(cmd: commands.CreateLocation, uow: UnitOfWork) -> str:
    """Add a location; its code is its identity, so a second one with that code is refused."""
    if (prior := await replayed(uow, SCOPE_CREATE, cmd)) is not None:
        return prior
    if await uow.locations.get(cmd.location.code) is not None:
        raise LocationExists(f"location {cmd.location.code!r} already exists")
    now = uow.clock.now()
    location = replace(cmd.location, created_at=now, updated_at=now)
    await uow.locations.add(location)
    uow.record(events.LocationChanged.of(location, change="created"))
    await uow.idempotency.complete(resource_id=cmd.location.code, status=201)
    return cmd.location.code


async def update_location(cmd: commands.UpdateLocation, uow: UnitOfWork) -> str:
    """Change a location's fields, guarded by the version the client last saw (If-Match)."""
    found = await uow.locations.get(cmd.code, for_update=True)
    if found is None:
        raise LocationNotFound(f"no location {cmd.code!r}")
    changed = found.update(cmd.changes, expected_version=cmd.expected_version, now=uow.clock.now())
    if changed:
        await uow.locations.save(found)
        uow.record(events.LocationChanged.of(found, change="updated", fields=changed))
    return found.code
