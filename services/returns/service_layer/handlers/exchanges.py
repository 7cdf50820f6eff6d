"""Exchanges: the replacement order is placed through order-capture's public API, as any
sales channel would place it. The call happens outside any transaction; its answer is
recorded in a transaction of its own. The Idempotency-Key is the return's, so a crash between
the call and the record places the order once: the retry gets the first answer.

Each process of the service runs this worker: it claims the exchanges it places (for a lease,
see ReturnRepository.claim_pending_exchanges), so another process does not call for them too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

from libs.clock import Clock
from libs.jobs import PeriodicJob
from services.returns.domain import commands
from services.returns.domain.order import KnownOrder
from services.returns.domain.rma import ReturnRequest
from services.returns.service_layer.unit_of_work import ReplacementOrders, UnitOfWork

BATCH = 20


class CommandBus(Protocol):
    """Where the worker hands the answer it got (libs.bus.message_bus.MessageBus)."""

    async def handle(self, message: object) -> Any: ...


class ExchangePlacer:
    def __init__(
        self,
        *,
        bus: CommandBus,
        unit_of_work: Callable[[], UnitOfWork],
        orders: ReplacementOrders,
        clock: Clock,
        lease: timedelta,
    ) -> None:
        """`orders` places the replacement orders; `lease` is how long this process's claim
        on an exchange keeps other processes off it."""
        self._bus = bus
        self._uow = unit_of_work
        self._orders = orders
        self._clock = clock
        self._lease = lease

    def jobs(self, interval_s: float) -> list[PeriodicJob]:
        return [PeriodicJob(name="place-exchanges", interval_s=interval_s, run_once=self.run_once)]

    async def run_once(self) -> int:
        async with self._uow() as uow:
            ids = await uow.returns.claim_pending_exchanges(
                self._clock.now(), BATCH, lease=self._lease
            )
            await uow.commit()
        placed = 0
        for return_id in ids:
            async with self._uow() as uow:  # a read: left without a commit
                rma = await uow.returns.get(return_id)
                found = await uow.orders.get(rma.order_id) if rma else None
            if rma is None or found is None or rma.exchange is None:
                continue
            placed += await self._place(rma, found)
        return placed

    async def _place(self, rma: ReturnRequest, order: KnownOrder) -> int:
        answer = await self._orders.place(
            replacement_order(rma, order),
            idempotency_key=f"exchange-{rma.id}",
            return_id=rma.id,
        )
        if answer is None:
            return await self._still_pending(rma)
        await self._bus.handle(commands.RecordExchangeOrder(rma.id, answer.order_id, answer.error))
        return 1

    async def _still_pending(self, rma: ReturnRequest) -> int:
        """Tried again on the next round, by whichever process is first to claim it."""
        async with self._uow() as uow:
            await uow.returns.release_exchange(rma.id)
            await uow.commit()
        return 0


# The order events name an address's point lat/lon; order-capture's API (3.0.0, one address
# shape across the APIs) names it latitude/longitude and refuses unknown fields.
_API_POINT_NAMES = {"lat": "latitude", "lon": "longitude"}


def _api_address(stored: Mapping[str, Any]) -> dict[str, Any]:
    return {_API_POINT_NAMES.get(name, name): value for name, value in stored.items()}


def replacement_order(rma: ReturnRequest, order: KnownOrder) -> dict[str, Any]:
    """The replacement as an order of the original channel: the returned units' value is a
    discount on it, so only a price difference is charged, with the original payment: the body
    names the original order (`token_of_order`), whose token order-capture keeps; returns never
    holds a token (one travels only from order-capture to orchestration)."""
    x = rma.exchange
    assert x is not None
    subtotal = x.unit_price * x.units
    credit = min(x.credit, subtotal)
    total = subtotal - credit
    return {
        "channel": order.channel,
        "channel_order_ref": f"{rma.rma_number}-X",
        "customer": {"email": order.customer_email, "name": order.customer_name},
        "shipping_address": _api_address(order.shipping_address),
        "delivery": {"method": "ship", "service_level": "standard"},
        "currency": order.currency,
        "lines": [
            {
                "sku": x.sku,
                "quantity": x.units,
                "unit_price": _amount(x.unit_price),
                "discount_amount": _amount(credit),
            }
        ],
        "shipping_amount": "0",
        # The original order's token, charged by order-capture: returns never holds it.
        "payment": {
            "method": "card",
            "token_of_order": str(order.order_id),
            "amount": _amount(total),
        },
        "tags": ["exchange"],
        "metadata": {
            "exchange_for_return": rma.rma_number,
            "return_id": str(rma.id),
            "original_order": order.order_number,
        },
    }


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")
