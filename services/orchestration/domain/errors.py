from __future__ import annotations

from libs.errors import Conflict, NotFound, Unprocessable


class SagaNotFound(NotFound):
    code = "saga_not_found"
    title = "No saga for this order"


class FulfillmentNotFound(NotFound):
    code = "fulfillment_not_found"
    title = "No such fulfilment order"


class ActionNotAllowed(Conflict):
    """An action out of turn (ship before pick); the problem lists the allowed actions."""

    code = "action_not_allowed"
    title = "This action is not allowed now"

    def __init__(self, detail: str, *, allowed: list[str]) -> None:
        super().__init__(detail, allowed_actions=allowed)


class InvalidPick(Unprocessable):
    code = "invalid_pick"
    title = "The pick names lines or quantities this fulfilment does not have"


class NoCarrierService(Unprocessable):
    code = "no_carrier_service"
    title = "No carrier service in the rate table matches"


class LabelNotAvailable(Conflict):
    code = "label_not_available"
    title = "The fulfilment has no shipment yet, so it has no label"


class HoldNotPossible(Conflict):
    """The order cannot be held now; `reason` says why (already_on_hold, finished,
    reservation_in_flight, fulfilment_under_way)."""

    code = "hold_not_possible"
    title = "The order cannot be put on hold now"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail, hold_refused_because=reason)


class NotOnHold(Conflict):
    code = "not_on_hold"
    title = "The order is not on hold"


class PaymentNotNeeded(Conflict):
    code = "payment_not_needed"
    title = "The order does not wait for a new payment method"


class NotInReview(Conflict):
    code = "not_in_review"
    title = "The order is not held for review"


class InvalidRateTable(Unprocessable):
    code = "invalid_rate_table"
    title = "The carrier rate table is not valid"
