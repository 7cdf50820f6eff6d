from __future__ import annotations

from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from services.returns.adapters.repository import OrderProjection


class ReturnsUnitOfWork(SqlAlchemyUnitOfWork):
    orders: OrderProjection

    def start(self) -> None:
        self.orders = OrderProjection(self.session)
