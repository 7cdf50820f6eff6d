from __future__ import annotations

from libs.errors import Conflict, NotFound


class OnHandBelowReserved(Conflict):
    code = "on_hand_below_reserved"
    title = "On-hand stock cannot drop below what is already reserved"


class SkuNotFound(NotFound):
    code = "sku_not_found"
    title = "No stock is recorded for this SKU"
