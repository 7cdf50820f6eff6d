"""The order saga's state (walking skeleton: it follows the order up to the stock answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class SagaState(StrEnum):
    AWAITING_STOCK = "awaiting_stock"
    STOCK_RESERVED = "stock_reserved"
    STOCK_UNAVAILABLE = "stock_unavailable"


@dataclass(frozen=True)
class SagaStep:
    name: str
    at: datetime
    detail: str


@dataclass
class OrderSaga:
    order_id: UUID
    order_number: str
    state: SagaState
    started_at: datetime
    updated_at: datetime
    new_steps: list[SagaStep] = field(default_factory=list)

    @classmethod
    def start(cls, *, order_id: UUID, order_number: str, now: datetime) -> OrderSaga:
        saga = cls(order_id, order_number, SagaState.AWAITING_STOCK, now, now)
        saga.new_steps.append(SagaStep("order_placed", now, "waiting for inventory's answer"))
        return saga

    def record_reservation(self, *, reserved: bool, detail: str, now: datetime) -> None:
        if self.state is not SagaState.AWAITING_STOCK:
            return  # a late or repeated answer changes nothing
        self.state = SagaState.STOCK_RESERVED if reserved else SagaState.STOCK_UNAVAILABLE
        self.updated_at = now
        self.new_steps.append(SagaStep(self.state.value, now, detail))
