from __future__ import annotations

from collections.abc import Sequence

from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from libs.observability.correlation import (
    correlation_scope,
    current_causation_id,
    current_correlation_id,
)
from services.inventory.adapters.repository import (
    InboundRepository,
    LocationRepository,
    ReservationRepository,
    StockRepository,
)
from services.inventory.domain import commands
from services.inventory.service_layer.handlers.stock_effects import (
    announce_stock_changes,
    serve_backorders,
)


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
        # The (correlation, causation) of each command that changed stock: the changes are
        # announced at commit, under the one command's ids, or under ids of their own when
        # several commands' changes are announced together.
        self._stock_causes: set[tuple[str, str | None]] = set()

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
        # Every command that moves stock ends here, so none can forget to serve the waiting
        # backorders, and before the next command of a batch could take the freed units.
        if self.stock.unserved():
            self._stock_causes.add((current_correlation_id(), current_causation_id()))
        await serve_backorders(self)
        await super().stage()

    async def commit(self) -> None:
        await self.stage()
        # Every changed row announced once for the whole transaction (see
        # announce_stock_changes), however many commands of a batch changed it.
        if self.stock.touched:
            causes = self._stock_causes
            ids = next(iter(causes)) if len(causes) == 1 else (None, None)
            with correlation_scope(*ids):
                await announce_stock_changes(self)
                await super().stage()
        self.stock.settled()
        self._stock_causes = set()
        # What a batch decided in memory (see lock_for), before its outbox rows and COMMIT.
        await self.reservations.flush()
        await self.stock.flush()
        await super().commit()
