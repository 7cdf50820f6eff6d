"""The order's status, derived from its lines' quantity buckets (never stored as a free field).

Read top to bottom, the first rule that holds wins:

    every unit cancelled                    -> cancelled
    some unit returned                      -> returned (all shipped units) | partially_returned
    every open unit delivered               -> completed (orchestration closed it) | delivered
    every open unit shipped                 -> shipped
    some unit shipped                       -> partially_shipped
    held by orchestration (nothing shipped) -> on_hold
    some unit backordered                   -> backordered
    every open unit reserved or allocated   -> confirmed
    otherwise                               -> pending
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from services.order_capture.domain.quantities import LineQuantities


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    BACKORDERED = "backordered"
    ON_HOLD = "on_hold"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    PARTIALLY_RETURNED = "partially_returned"
    RETURNED = "returned"
    CANCELLED = "cancelled"


def derive_status(lines: Sequence[LineQuantities], *, on_hold: bool, closed: bool) -> OrderStatus:
    open_ = sum(q.open for q in lines)
    shipped = sum(q.shipped for q in lines)
    returned = sum(q.returned for q in lines)
    if open_ == 0:
        return OrderStatus.CANCELLED
    if returned > 0:
        return OrderStatus.RETURNED if returned >= shipped else OrderStatus.PARTIALLY_RETURNED
    if all(q.delivered >= q.open for q in lines):
        return OrderStatus.COMPLETED if closed else OrderStatus.DELIVERED
    if all(q.shipped >= q.open for q in lines):
        return OrderStatus.SHIPPED
    if shipped > 0:
        return OrderStatus.PARTIALLY_SHIPPED
    if on_hold:
        return OrderStatus.ON_HOLD
    if any(q.backordered > 0 for q in lines):
        return OrderStatus.BACKORDERED
    if all(q.reserved + q.allocated >= q.open for q in lines):
        return OrderStatus.CONFIRMED
    return OrderStatus.PENDING
