"""Use cases of returns: each takes a command and an open unit of work."""

from __future__ import annotations

from libs.bus.message_bus import Handler
from services.returns.domain import commands
from services.returns.service_layer.unit_of_work import ReturnsUnitOfWork


async def project_placed_order(cmd: commands.ProjectPlacedOrder, uow: ReturnsUnitOfWork) -> None:
    """Remember a placed order's lines and prices, for the returns that may come."""
    await uow.orders.add_if_new(cmd)


HANDLERS: dict[type, Handler] = {commands.ProjectPlacedOrder: project_placed_order}
