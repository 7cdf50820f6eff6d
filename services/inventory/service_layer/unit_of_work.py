from __future__ import annotations

from collections.abc import Sequence

from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from services.inventory.adapters.repository import (
    InboundRepository,
    LocationRepository,
    ReservationRepository,
    StockRepository,
)
from services.inventory.domain import commands
from services.inventory.service_layer.stock_effects import settle_stock_changes


class InventoryUnitOfWork(SqlAlchemyUnitOfWork):
    locations: LocationRepository
    stock: StockRepository
    inbound: InboundRepository
    reservations: ReservationRepository

    def start(self) -> None:
        self.stock = StockRepository(self.session)
        self.locations = LocationRepository(self.session, on_save=self.stock.forget_facts)
        self.inbound = InboundRepository(self.session)
        self.reservations = ReservationRepository(self.session)
        # Whether a consumer's batch locked its stock rows before its commands ran.
        self.in_locked_batch = False

    async def lock_for(self, messages: Sequence[object]) -> None:
        """A batch of reservations (each naming its rows: ReserveStock.batchable) locks every
        row they take at once, in the global order, before the first of them runs: taken one
        reservation after another, rows of different SKUs would be locked out of that order
        and could deadlock with a request or another process's batch."""
        keys = {
            (line.location_code, line.sku)
            for message in messages
            if isinstance(message, commands.ReserveStock)
            for line in message.requests
            if line.location_code is not None
        }
        if keys:
            await self.stock.lock_batch(keys)
        await self.reservations.expect(
            message.reservation_id
            for message in messages
            if isinstance(message, commands.ReserveStock) and message.reservation_id is not None
        )
        self.in_locked_batch = True

    async def stage(self) -> None:
        # Every use case that moves stock ends here, so none can forget to serve waiting
        # backorders or to announce the change.
        await settle_stock_changes(self)
        await super().stage()

    async def commit(self) -> None:
        # What a batch decided in memory (see lock_for), before its outbox rows and COMMIT.
        await self.reservations.flush()
        await self.stock.flush()
        await super().commit()
