from __future__ import annotations

from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from services.inventory.adapters.repository import (
    InboundRepository,
    LocationRepository,
    ReservationRepository,
    StockRepository,
)
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

    async def stage(self) -> None:
        # Every use case that moves stock ends here, so none can forget to serve waiting
        # backorders or to announce the change.
        await settle_stock_changes(self)
        await super().stage()
