"""What returns refuses, each with a stable code."""

from __future__ import annotations

from uuid import UUID

from libs.errors import Conflict, Forbidden, NotFound, Unprocessable


class ReturnNotFound(NotFound):
    code = "return_not_found"
    title = "No such return"


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "No such order"


def unknown_order(order_id: UUID) -> OrderNotFound:
    """The one answer for an order that does not exist or that the caller may not see."""
    return OrderNotFound(f"no order {order_id}")


# Self-service answers an unknown order number and a wrong e-mail alike, so neither is probed.
SELF_SERVICE_NOT_FOUND = "no such order for this e-mail address"


class LocationNotAllowed(Forbidden):
    code = "location_not_allowed"
    title = "The token does not allow this location"


class UnknownLine(Unprocessable):
    code = "unknown_line"
    title = "A line id does not belong to this order"


class DuplicateLine(Unprocessable):
    code = "duplicate_line"
    title = "The same order line appears twice in the return"


class NotReturnable(Unprocessable):
    code = "not_returnable"
    title = "The policy does not allow returning this"


class OutsideReturnWindow(Unprocessable):
    code = "outside_return_window"
    title = "The return window for these units has closed"


class ExceedsReturnable(Unprocessable):
    code = "exceeds_returnable"
    title = "More units than were delivered and not already returned"


class ReturnLimitReached(Unprocessable):
    code = "return_limit_reached"
    title = "The order already has as many returns as the policy allows"


class ActionNotAllowed(Conflict):
    code = "action_not_allowed"
    title = "The return is not in a state that allows this"


class UnknownReturnLine(Unprocessable):
    code = "unknown_return_line"
    title = "A line id is not part of this return"


class ReceiptExceedsReturn(Conflict):
    code = "exceeds_expected_units"
    title = "More units received than the return still expects (received twice?)"
