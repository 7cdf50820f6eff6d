"""Placing an order: the hot path first, the general path for everything it does not answer.

The hot path builds the order from the command and writes it, with all it adds, in one
statement (the Placements port: adapters.placements). It asks the database nothing first: a
used Idempotency-Key or a channel reference placed before make the write fail whole, and so
does anything else the constraints refuse. Then the general handler (handlers.orders.
place_order, in a unit of work) runs the same command and answers exactly as it always has:
the first order again for a replayed key, 409 for a reused key or a duplicate reference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from uuid import UUID

from libs.bus.message_bus import MessageBus
from libs.clock import Clock
from libs.errors import DomainError
from libs.ids import new_id
from libs.runtime import ServiceContainer
from services.order_capture.domain import commands
from services.order_capture.domain.errors import PaymentSourceUnusable
from services.order_capture.domain.model import Order
from services.order_capture.service_layer.handlers.orders import IDEMPOTENCY_SCOPE_PLACE
from services.order_capture.service_layer.unit_of_work import (
    IdempotencyClaim,
    Placements,
    Translate,
    WrittenOrder,
)


class Placing:
    def __init__(
        self, *, placements: Placements, translate: Translate, bus: MessageBus, clock: Clock
    ) -> None:
        self._placements = placements
        self._translate = translate
        self._bus = bus
        self._clock = clock

    async def place(self, cmd: commands.PlaceOrder) -> WrittenOrder | UUID:
        """The order as the hot path wrote it, or the id of the order the general path
        answered with (to be read back for the response)."""
        cmd = await self._with_token_of_order(cmd)
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
        publications = [self._translate(order, event) for event in order.events]
        claim = (
            IdempotencyClaim(IDEMPOTENCY_SCOPE_PLACE, cmd.idempotency_key, cmd.request_fingerprint)
            if cmd.idempotency_key
            else None
        )
        written = await self._placements.insert(order, publications, claim)
        if written is None:
            order_id = await self._bus.handle(cmd)
            return order_id
        return written

    async def _with_token_of_order(self, cmd: commands.PlaceOrder) -> commands.PlaceOrder:
        """The command paying with the token of the order it names, which must be of the same
        channel and customer (422 payment_source_unusable otherwise, as for no token)."""
        if cmd.payment_token_of is None:
            return cmd
        token = await self._placements.payment_token_of(
            cmd.payment_token_of, channel=cmd.channel.value, email=cmd.customer.email
        )
        if token is None:
            raise PaymentSourceUnusable(
                f"order {cmd.payment_token_of} is no order of channel {cmd.channel.value} and "
                "this customer with a payment token"
            )
        return replace(cmd, payment=replace(cmd.payment, token=token), payment_token_of=None)


@dataclass(kw_only=True)
class OrderCaptureContainer(ServiceContainer):
    """What an order-capture process runs on: the common container and the placing hot path
    the app's POST /orders takes, both built by the composition root (bootstrap)."""

    placing: Placing
