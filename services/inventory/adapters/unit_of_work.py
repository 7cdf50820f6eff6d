"""The concrete unit of work of inventory: one PostgreSQL transaction (libs.db.unit_of_work)
with inventory's repositories, implementing service_layer.unit_of_work.UnitOfWork.

The domain events the handlers record become outbox rows through `translate`, which the
composition root hands in (messaging.publications.translate): adapters know no published
language of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Unpack

from libs.contracts.base import IntegrationEvent
from libs.db.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkPlumbing
from libs.observability.correlation import (
    correlation_scope,
    current_causation_id,
    current_correlation_id,
)
from libs.outbox.writer import OutboxWriter
from services.inventory.adapters.import_apply import ImportBatch
from services.inventory.adapters.imports import ImportProgress, ImportRepository
from services.inventory.adapters.repository import (
    InboundRepository,
    LocationRepository,
    ReservationRepository,
    StockRepository,
)
from services.inventory.domain import commands
from services.inventory.domain.events import InventoryEvent
from services.inventory.service_layer.handlers.stock_effects import (
    announce_stock_changes,
    serve_backorders,
)
from services.inventory.service_layer.unit_of_work import Savepoint, UnitOfWork

Translate = Callable[[InventoryEvent], IntegrationEvent]


class SqlAlchemyInventoryUnitOfWork(SqlAlchemyUnitOfWork):
    locations: LocationRepository
    stock: StockRepository
    inbound: InboundRepository
    reservations: ReservationRepository
    imports: ImportRepository

    def __init__(
        self,
        *,
        translate: Translate,
        bulk_outbox: OutboxWriter,
        **plumbing: Unpack[UnitOfWorkPlumbing],
    ) -> None:
        """`translate`: a domain event's integration event. `bulk_outbox`: the writer of
        events written before the commit (write_events_now), which audits none of them."""
        super().__init__(**plumbing)
        self._translate = translate
        self._bulk_outbox = bulk_outbox
        self._recorded: list[InventoryEvent] = []

    def start(self) -> None:
        self.stock = StockRepository(self.session)
        self.locations = LocationRepository(self.session, on_save=self.stock.forget_facts)
        self.inbound = InboundRepository(self.session)
        self.reservations = ReservationRepository(self.session)
        self.imports = ImportRepository(self.session)
        self._recorded = []
        # Whether a consumer's batch locked its stock rows before its commands ran.
        self.in_locked_batch = False
        # The (correlation, causation) of each command that changed stock: the changes are
        # announced at commit, under the one command's ids, or under ids of their own when
        # several commands' changes are announced together.
        self._stock_causes: set[tuple[str, str | None]] = set()

    def record(self, *events: InventoryEvent) -> None:
        self._recorded.extend(events)

    def collect_new_events(self) -> list[InventoryEvent]:
        recorded, self._recorded = self._recorded, []
        return recorded

    def collect_events(self) -> list[IntegrationEvent]:
        """What libs' stage() writes to the outbox: the recorded events, translated."""
        return [self._translate(event) for event in self.collect_new_events()]

    async def write_events_now(self, events: Sequence[InventoryEvent]) -> None:
        await self._bulk_outbox.write(self.session, [self._translate(e) for e in events])

    def import_batch(self) -> ImportBatch:
        return ImportBatch(self.session)

    def import_progress(self) -> ImportProgress:
        return ImportProgress.beside(self.session)

    async def savepoint(self) -> Savepoint:
        return await self.session.begin_nested()

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


def _implements(uow: SqlAlchemyInventoryUnitOfWork) -> UnitOfWork:
    """Never called: mypy checks here that this class fits the abstract unit of work."""
    return uow
