from __future__ import annotations

from libs.errors import Conflict, Forbidden, NotFound, PreconditionFailed, Unprocessable


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class ChannelNotAllowed(Forbidden):
    """A client narrowed to some channels places an order for another one (HTTP 403)."""

    code = "channel_not_allowed"
    title = "The token does not allow orders of this channel"


# One answer for an unknown order number and for a wrong e-mail, so neither can be probed.
SELF_SERVICE_NOT_FOUND = "no such order for this e-mail address"


class DuplicateChannelOrder(Conflict):
    code = "duplicate_channel_order"
    title = "The channel already placed an order with this reference"


class DuplicateSku(Unprocessable):
    code = "duplicate_sku"
    title = "The same SKU appears on more than one line"


class TotalMismatch(Unprocessable):
    code = "total_mismatch"
    title = "A total sent by the client differs from the computed one"


class PaymentAmountMismatch(Unprocessable):
    code = "payment_amount_mismatch"
    title = "The payment amount differs from the order's grand total"


class PaymentSourceUnusable(Unprocessable):
    code = "payment_source_unusable"
    title = "The order named to pay with has no token this order may use"


class DiscountExceedsLine(Unprocessable):
    code = "discount_exceeds_line"
    title = "A line's discount is larger than its price times quantity"


class AmountPrecision(Unprocessable):
    code = "amount_precision"
    title = "An amount has more decimals than the currency allows"


class PickupLocationRequired(Unprocessable):
    code = "pickup_location_required"
    title = "Pickup delivery needs a pickup_location_code (and shipping delivery must not have one)"


class ServiceLevelUnavailable(Unprocessable):
    code = "service_level_unavailable"
    title = "No carrier service offers this service level"


class DeliveryDateInPast(Unprocessable):
    code = "delivery_date_in_past"
    title = "The requested delivery date has already passed"


class DeliveryDateUnreachable(Unprocessable):
    code = "delivery_date_unreachable"
    title = "No carrier service can deliver a shipped order by the requested delivery date"


class UnknownLine(Unprocessable):
    code = "unknown_line"
    title = "A line id does not belong to this order"


class OrderNotEditable(Conflict):
    code = "order_not_editable"
    title = "The order can no longer be edited (something has shipped, or it is cancelled)"


class OrderNotCancellable(Conflict):
    code = "order_not_cancellable"
    title = "Nothing of the order can be cancelled any more"


class CancelQuantityTooLarge(Conflict):
    code = "cancel_quantity_too_large"
    title = "More units were asked to be cancelled than are still unshipped"


class VersionMismatch(PreconditionFailed):
    """The client edited an older version than the current one."""

    title = "The order changed since the ETag sent in If-Match"
