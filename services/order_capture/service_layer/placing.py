"""Placing an order: the hot path first, the general path for everything it does not answer.

The hot path builds the order from the command and writes it, with all it adds, in one
statement (adapters.placements). It asks the database nothing first: a used Idempotency-Key
or a channel reference placed before make the write fail whole, and so does anything else the
constraints refuse. Then the general handler (handlers.place_order, in a unit of work) runs
the same command and answers exactly as it always has: the first order again for a replayed
key, 409 for a reused key or a duplicate reference.
"""

from __future__ import annotations

from uuid import UUID

from libs.bus.message_bus import MessageBus
from libs.clock import Clock
from libs.errors import DomainError
from libs.ids import new_id
from services.order_capture.adapters import published
from services.order_capture.adapters.placements import (
    IdempotencyClaim,
    OrderPlacements,
    WrittenOrder,
)
from services.order_capture.domain import commands
from services.order_capture.domain.model import Order
from services.order_capture.service_layer.handlers import IDEMPOTENCY_SCOPE_PLACE


class Placing:
    def __init__(self, *, placements: OrderPlacements, bus: MessageBus, clock: Clock) -> None:
        self._placements = placements
        self._bus = bus
        self._clock = clock

    async def place(self, cmd: commands.PlaceOrder) -> WrittenOrder | UUID:
        """The order as the hot path wrote it, or the id of the order the general path
        answered with (to be read back for the response)."""
        try:
            order = Order.place(
                cmd,
                id=new_id(),
                order_number=await self._placements.next_order_number(),
                line_ids=[new_id() for _ in cmd.lines],
                now=self._clock.now(),
            )
        except DomainError:
            if cmd.idempotency_key:
                # A retry of a request that succeeded before is answered with its first
                # outcome, even if the same body would not be accepted today: the general
                # path looks the key up before it checks the order.
                order_id: UUID = await self._bus.handle(cmd)
                return order_id
            raise
        events = [
            event
            for event in (published.translate(order, domain) for domain in order.events)
            if event is not None
        ]
        claim = (
            IdempotencyClaim(IDEMPOTENCY_SCOPE_PLACE, cmd.idempotency_key, cmd.request_fingerprint)
            if cmd.idempotency_key
            else None
        )
        written = await self._placements.insert(order, events, claim)
        if written is None:
            order_id = await self._bus.handle(cmd)
            return order_id
        return written
