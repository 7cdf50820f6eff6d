from __future__ import annotations

from libs.errors import Conflict, NotFound, Unprocessable


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class DuplicateChannelOrder(Conflict):
    code = "duplicate_channel_order"
    title = "The channel already placed an order with this reference"


class DuplicateSku(Unprocessable):
    code = "duplicate_sku"
    title = "The same SKU appears on more than one line"
