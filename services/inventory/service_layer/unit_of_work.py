from __future__ import annotations

from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from services.inventory.adapters.repository import ReservationRepository, StockRepository


class InventoryUnitOfWork(SqlAlchemyUnitOfWork):
    stock: StockRepository
    reservations: ReservationRepository

    def start(self) -> None:
        self.stock = StockRepository(self.session)
        self.reservations = ReservationRepository(self.session)
