from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class StartOrderSaga:
    order_id: UUID
    order_number: str


@dataclass(frozen=True)
class RecordReservationOutcome:
    order_id: UUID
    reserved: bool
    detail: str
