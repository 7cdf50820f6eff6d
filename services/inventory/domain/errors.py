"""Inventory's business rule violations, each with a stable code."""

from __future__ import annotations

from libs.errors import Conflict, Forbidden, NotFound, Unprocessable


class OnHandBelowReserved(Conflict):
    code = "on_hand_below_reserved"
    title = "On-hand stock cannot drop below what is already reserved"


class NotEnoughOnHand(Conflict):
    code = "not_enough_on_hand"
    title = "The change would take on-hand stock below zero"


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    title = "Not enough stock for every line; nothing was reserved"


class AdjustmentSignMismatch(Unprocessable):
    code = "adjustment_sign_mismatch"
    title = "The adjustment's reason does not fit its direction"


class SkuNotFound(NotFound):
    code = "sku_not_found"
    title = "No stock is recorded for this SKU"


class UnknownSku(Unprocessable):
    code = "unknown_sku"
    title = "Inventory has no stock record of this SKU anywhere"


class LocationNotFound(NotFound):
    code = "location_not_found"
    title = "No location has this code"


class UnknownLocation(Unprocessable):
    code = "unknown_location"
    title = "The request names a location that does not exist"


class LocationExists(Conflict):
    code = "location_exists"
    title = "A location with this code already exists"


class ReservationNotFound(NotFound):
    code = "reservation_not_found"
    title = "No reservation has this id"


class ReservationClosed(Conflict):
    code = "reservation_closed"
    title = "The reservation holds nothing any more"


class ReservationNotTemporary(Conflict):
    code = "reservation_not_temporary"
    title = "Only a temporary hold (with expires_at) can be confirmed"


class CommitExceedsHeld(Conflict):
    code = "commit_exceeds_held"
    title = "More units named than are held for the reservation"


class InboundNotFound(NotFound):
    code = "inbound_not_found"
    title = "No inbound delivery has this id"


class InboundClosed(Conflict):
    code = "inbound_closed"
    title = "The inbound delivery is fully received or cancelled"


class ReceiveExceedsExpected(Conflict):
    code = "receive_exceeds_expected"
    title = "More units received than are still expected on this inbound delivery"


class ImportNotFound(NotFound):
    code = "import_not_found"
    title = "No stock import has this id"


class ImportTooLarge(Unprocessable):
    code = "import_too_large"
    title = "A stock import holds at most 100,000 rows"


class UnsupportedImportFormat(Unprocessable):
    code = "unsupported_import_format"
    title = "Send text/csv or application/x-ndjson"


class LocationNarrowedImport(Forbidden):
    code = "location_narrowed_import"
    title = "A token narrowed to some locations cannot import stock: an import spans locations"
