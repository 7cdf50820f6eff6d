"""Every problem `code` an OMS API can answer: one registry, with its status, what it means and
what the client should do.

The code is the contract (clients dispatch on it); the title and detail are for people. The
registry is plain Python so that the domain errors' base (libs.errors) can name its codes from
it. A unit test fails when a service raises a code that is not registered here, or with another
status than the one registered; docs/errors.md is the table below, rendered by
`problems_markdown()` (another test keeps the two equal).

The OpenAPI documents list the codes each service can answer on the `code` property of the
Problem schema as `x-extensible-enum`, not `enum`: a client must treat a code it does not know
like any other error of that status, and generated clients would refuse a response whose code
is missing from an `enum` they were built with.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ProblemCode(StrEnum):
    # --- the edge and the shared libraries: any service can answer these -----------------
    VALIDATION_ERROR = "validation_error"
    MALFORMED_JSON = "malformed_json"
    INVALID_TEXT = "invalid_text"
    INVALID_CURSOR = "invalid_cursor"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    AUDIT_NEEDS_UNNARROWED_TOKEN = "audit_needs_unnarrowed_token"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    PRECONDITION_FAILED = "precondition_failed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNPROCESSABLE = "unprocessable"
    DOMAIN_ERROR = "domain_error"
    PRECONDITION_REQUIRED = "precondition_required"
    RATE_LIMITED = "rate_limited"
    INTERNAL_ERROR = "internal_error"
    DEPENDENCY_UNAVAILABLE = "dependency_unavailable"
    DATABASE_UNAVAILABLE = "database_unavailable"
    DATABASE_BUSY = "database_busy"
    TRANSACTION_CONFLICT = "transaction_conflict"
    OVERLOADED = "overloaded"
    # --- order-capture ---------------------------------------------------------------------
    ORDER_NOT_FOUND = "order_not_found"
    CHANNEL_NOT_ALLOWED = "channel_not_allowed"
    DUPLICATE_CHANNEL_ORDER = "duplicate_channel_order"
    ORDER_NOT_EDITABLE = "order_not_editable"
    ORDER_NOT_CANCELLABLE = "order_not_cancellable"
    CANCEL_QUANTITY_TOO_LARGE = "cancel_quantity_too_large"
    DUPLICATE_SKU = "duplicate_sku"
    TOTAL_MISMATCH = "total_mismatch"
    PAYMENT_AMOUNT_MISMATCH = "payment_amount_mismatch"
    PAYMENT_SOURCE_UNUSABLE = "payment_source_unusable"
    DISCOUNT_EXCEEDS_LINE = "discount_exceeds_line"
    AMOUNT_PRECISION = "amount_precision"
    PICKUP_LOCATION_REQUIRED = "pickup_location_required"
    SERVICE_LEVEL_UNAVAILABLE = "service_level_unavailable"
    DELIVERY_DATE_IN_PAST = "delivery_date_in_past"
    DELIVERY_DATE_UNREACHABLE = "delivery_date_unreachable"
    UNKNOWN_LINE = "unknown_line"
    # --- inventory -------------------------------------------------------------------------
    LOCATION_NARROWED_IMPORT = "location_narrowed_import"
    SKU_NOT_FOUND = "sku_not_found"
    LOCATION_NOT_FOUND = "location_not_found"
    RESERVATION_NOT_FOUND = "reservation_not_found"
    INBOUND_NOT_FOUND = "inbound_not_found"
    IMPORT_NOT_FOUND = "import_not_found"
    ON_HAND_BELOW_RESERVED = "on_hand_below_reserved"
    NOT_ENOUGH_ON_HAND = "not_enough_on_hand"
    INSUFFICIENT_STOCK = "insufficient_stock"
    LOCATION_EXISTS = "location_exists"
    RESERVATION_CLOSED = "reservation_closed"
    RESERVATION_NOT_TEMPORARY = "reservation_not_temporary"
    COMMIT_EXCEEDS_HELD = "commit_exceeds_held"
    INBOUND_CLOSED = "inbound_closed"
    RECEIVE_EXCEEDS_EXPECTED = "receive_exceeds_expected"
    ADJUSTMENT_SIGN_MISMATCH = "adjustment_sign_mismatch"
    UNKNOWN_SKU = "unknown_sku"
    UNKNOWN_LOCATION = "unknown_location"
    IMPORT_TOO_LARGE = "import_too_large"
    UNSUPPORTED_IMPORT_FORMAT = "unsupported_import_format"
    # --- orchestration ---------------------------------------------------------------------
    SAGA_NOT_FOUND = "saga_not_found"
    FULFILLMENT_NOT_FOUND = "fulfillment_not_found"
    ACTION_NOT_ALLOWED = "action_not_allowed"
    LABEL_NOT_AVAILABLE = "label_not_available"
    HOLD_NOT_POSSIBLE = "hold_not_possible"
    NOT_ON_HOLD = "not_on_hold"
    PAYMENT_NOT_NEEDED = "payment_not_needed"
    NOT_IN_REVIEW = "not_in_review"
    INVALID_PICK = "invalid_pick"
    NO_CARRIER_SERVICE = "no_carrier_service"
    INVALID_RATE_TABLE = "invalid_rate_table"
    # --- returns ---------------------------------------------------------------------------
    LOCATION_NOT_ALLOWED = "location_not_allowed"
    RETURN_NOT_FOUND = "return_not_found"
    EXCEEDS_EXPECTED_UNITS = "exceeds_expected_units"
    DUPLICATE_LINE = "duplicate_line"
    NOT_RETURNABLE = "not_returnable"
    OUTSIDE_RETURN_WINDOW = "outside_return_window"
    EXCEEDS_RETURNABLE = "exceeds_returnable"
    RETURN_LIMIT_REACHED = "return_limit_reached"
    UNKNOWN_RETURN_LINE = "unknown_return_line"
    # --- notifications ---------------------------------------------------------------------
    WEBHOOK_ENDPOINT_NOT_FOUND = "webhook_endpoint_not_found"
    INVALID_WEBHOOK_URL = "invalid_webhook_url"
    INSECURE_WEBHOOK_URL = "insecure_webhook_url"
    PRIVATE_WEBHOOK_TARGET = "private_webhook_target"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    INVALID_WEBHOOK_SECRET = "invalid_webhook_secret"
    NOTIFICATION_NOT_FOUND = "notification_not_found"
    NOTIFICATION_OPTED_OUT = "notification_opted_out"
    WEBHOOK_DELIVERY_NOT_FOUND = "webhook_delivery_not_found"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"
    INVALID_REPLAY_SINCE = "invalid_replay_since"
    # --- insights --------------------------------------------------------------------------
    INVALID_PERIOD = "invalid_period"
    DEAD_LETTER_NOT_FOUND = "dead_letter_not_found"
    DEAD_LETTERS_NEED_UNNARROWED_TOKEN = "dead_letters_need_unnarrowed_token"
    BROKER_UNAVAILABLE = "broker_unavailable"


@dataclass(frozen=True)
class ProblemInfo:
    status: int
    meaning: str
    action: str


P = ProblemCode
_FIX = "Correct the request as `detail` (and `errors`, if any) says; do not retry it unchanged."
_RETRY = "Retry after the seconds in Retry-After, with the same Idempotency-Key if it had one."
_REREAD = "GET the resource again, then decide whether the request still makes sense."

PROBLEMS: dict[ProblemCode, ProblemInfo] = {
    P.VALIDATION_ERROR: ProblemInfo(
        422, "A field, parameter or header breaks the schema; `errors` names each one.", _FIX
    ),
    P.MALFORMED_JSON: ProblemInfo(422, "The request body is not valid JSON.", _FIX),
    P.INVALID_TEXT: ProblemInfo(
        422, "A text contains a character that cannot be stored (NUL).", _FIX
    ),
    P.INVALID_CURSOR: ProblemInfo(
        422,
        "The pagination cursor is not one this API issued for this list.",
        "Start again from the first page; pass `next_cursor` back unchanged.",
    ),
    P.UNAUTHENTICATED: ProblemInfo(
        401,
        "No bearer token, or one that is expired or cannot be trusted.",
        "Get a new access token and retry.",
    ),
    P.FORBIDDEN: ProblemInfo(
        403, "The token is valid but does not allow this request.", "Use a client allowed to."
    ),
    P.INSUFFICIENT_SCOPE: ProblemInfo(
        403,
        "The token lacks a scope the operation needs (`extensions.required_scopes`).",
        "Ask for a token with those scopes.",
    ),
    P.AUDIT_NEEDS_UNNARROWED_TOKEN: ProblemInfo(
        403,
        "The audit log is read only with a token narrowed to no channels or locations.",
        "Use an unnarrowed token.",
    ),
    P.NOT_FOUND: ProblemInfo(
        404, "No such resource, or no route at this path.", "Check the path and the id."
    ),
    P.METHOD_NOT_ALLOWED: ProblemInfo(
        405, "The resource does not support this method; Allow lists those it does.", _FIX
    ),
    P.CONFLICT: ProblemInfo(409, "The request conflicts with the resource's state.", _REREAD),
    P.IDEMPOTENCY_KEY_REUSED: ProblemInfo(
        409,
        "The Idempotency-Key was already used with a different request.",
        "Use a new key for a new request; resend a retried one byte for byte.",
    ),
    P.PRECONDITION_FAILED: ProblemInfo(
        412,
        "The resource changed since the ETag sent in If-Match (or that ETag is not ours).",
        "GET it again, reapply the change, and send the new ETag.",
    ),
    P.PAYLOAD_TOO_LARGE: ProblemInfo(
        413, "The request body is larger than the operation accepts.", "Send a smaller body."
    ),
    P.UNPROCESSABLE: ProblemInfo(422, "The request cannot be carried out.", _FIX),
    P.DOMAIN_ERROR: ProblemInfo(422, "The request breaks a business rule.", _FIX),
    P.PRECONDITION_REQUIRED: ProblemInfo(
        428,
        "The update needs If-Match with the resource's ETag.",
        "GET the resource and send its ETag in If-Match.",
    ),
    P.RATE_LIMITED: ProblemInfo(429, "The caller sent more than its rate allows.", _RETRY),
    P.INTERNAL_ERROR: ProblemInfo(
        500,
        "A bug: the request failed unexpectedly (logged with its correlation id).",
        "Report it with the X-Correlation-ID of the response; retry later.",
    ),
    P.DEPENDENCY_UNAVAILABLE: ProblemInfo(
        503, "A service this request depends on did not answer.", _RETRY
    ),
    P.DATABASE_UNAVAILABLE: ProblemInfo(503, "The service's database is unreachable.", _RETRY),
    P.DATABASE_BUSY: ProblemInfo(
        503, "Every database connection stayed busy: the service is at capacity.", _RETRY
    ),
    P.TRANSACTION_CONFLICT: ProblemInfo(
        503,
        "The request collided with another and was rolled back; nothing was written.",
        _RETRY,
    ),
    P.OVERLOADED: ProblemInfo(
        503, "The process serves as many requests as it may; this one was not read.", _RETRY
    ),
    P.ORDER_NOT_FOUND: ProblemInfo(
        404,
        "No such order, or one of a channel the caller may not see.",
        "Check the id or order number (and, self-service, the e-mail address).",
    ),
    P.CHANNEL_NOT_ALLOWED: ProblemInfo(
        403,
        "The token does not allow this channel (an order's, or a webhook endpoint's filter).",
        "Use the channel's client.",
    ),
    P.DUPLICATE_CHANNEL_ORDER: ProblemInfo(
        409,
        "The channel already placed an order with this reference.",
        "GET the existing order (by its reference) instead of placing it again.",
    ),
    P.ORDER_NOT_EDITABLE: ProblemInfo(
        409, "The order can no longer be edited: something shipped, or it is cancelled.", _REREAD
    ),
    P.ORDER_NOT_CANCELLABLE: ProblemInfo(
        409, "Nothing of the order can be cancelled any more.", _REREAD
    ),
    P.CANCEL_QUANTITY_TOO_LARGE: ProblemInfo(
        409, "More units were asked to be cancelled than are still unshipped.", _REREAD
    ),
    P.DUPLICATE_SKU: ProblemInfo(422, "The same SKU appears on more than one line.", _FIX),
    P.TOTAL_MISMATCH: ProblemInfo(
        422, "A total sent by the client differs from the one computed.", _FIX
    ),
    P.PAYMENT_AMOUNT_MISMATCH: ProblemInfo(
        422, "The payment amount differs from the order's grand total.", _FIX
    ),
    P.PAYMENT_SOURCE_UNUSABLE: ProblemInfo(
        422,
        "`payment.token_of_order` names no order of this channel and customer with a payment "
        "token to charge.",
        _FIX,
    ),
    P.DISCOUNT_EXCEEDS_LINE: ProblemInfo(
        422, "A line's discount is larger than its price times its quantity.", _FIX
    ),
    P.AMOUNT_PRECISION: ProblemInfo(
        422, "An amount has more decimals than the currency allows.", _FIX
    ),
    P.PICKUP_LOCATION_REQUIRED: ProblemInfo(
        422, "Pickup needs a pickup_location_code; shipping must not have one.", _FIX
    ),
    P.SERVICE_LEVEL_UNAVAILABLE: ProblemInfo(
        422, "No carrier service offers this service level.", _FIX
    ),
    P.DELIVERY_DATE_IN_PAST: ProblemInfo(
        422, "The requested delivery date has already passed.", _FIX
    ),
    P.DELIVERY_DATE_UNREACHABLE: ProblemInfo(
        422, "No carrier service can deliver by the requested delivery date.", _FIX
    ),
    P.UNKNOWN_LINE: ProblemInfo(422, "A line id does not belong to this order.", _FIX),
    P.LOCATION_NARROWED_IMPORT: ProblemInfo(
        403,
        "A token narrowed to some locations cannot import stock (an import spans locations).",
        "Use an unnarrowed token.",
    ),
    P.SKU_NOT_FOUND: ProblemInfo(404, "No stock is recorded for this SKU.", "Check the SKU."),
    P.LOCATION_NOT_FOUND: ProblemInfo(
        404, "No location has this code (or the token may not see it).", "Check the code."
    ),
    P.RESERVATION_NOT_FOUND: ProblemInfo(404, "No reservation has this id.", "Check the id."),
    P.INBOUND_NOT_FOUND: ProblemInfo(404, "No inbound delivery has this id.", "Check the id."),
    P.IMPORT_NOT_FOUND: ProblemInfo(404, "No stock import has this id.", "Check the id."),
    P.ON_HAND_BELOW_RESERVED: ProblemInfo(
        409, "On-hand stock cannot drop below what is already reserved.", _REREAD
    ),
    P.NOT_ENOUGH_ON_HAND: ProblemInfo(
        409, "The change would take on-hand stock below zero.", _REREAD
    ),
    P.INSUFFICIENT_STOCK: ProblemInfo(
        409,
        "Not enough stock for every line; nothing was reserved (`extensions.lines`).",
        "Reserve less, allow a backorder, or try again when stock arrives.",
    ),
    P.LOCATION_EXISTS: ProblemInfo(
        409, "A location with this code already exists.", "PATCH it, or pick another code."
    ),
    P.RESERVATION_CLOSED: ProblemInfo(409, "The reservation holds nothing any more.", _REREAD),
    P.RESERVATION_NOT_TEMPORARY: ProblemInfo(
        409, "Only a temporary hold (with expires_at) can be confirmed.", _REREAD
    ),
    P.COMMIT_EXCEEDS_HELD: ProblemInfo(
        409, "More units named than are held for the reservation.", _REREAD
    ),
    P.INBOUND_CLOSED: ProblemInfo(
        409, "The inbound delivery is fully received or cancelled.", _REREAD
    ),
    P.RECEIVE_EXCEEDS_EXPECTED: ProblemInfo(
        409, "More units received than are still expected on the inbound delivery.", _REREAD
    ),
    P.ADJUSTMENT_SIGN_MISMATCH: ProblemInfo(
        422, "The adjustment's reason does not fit its direction.", _FIX
    ),
    P.UNKNOWN_SKU: ProblemInfo(422, "Inventory has no stock record of this SKU anywhere.", _FIX),
    P.UNKNOWN_LOCATION: ProblemInfo(422, "The request names a location that does not exist.", _FIX),
    P.IMPORT_TOO_LARGE: ProblemInfo(422, "A stock import holds at most 100,000 rows.", _FIX),
    P.UNSUPPORTED_IMPORT_FORMAT: ProblemInfo(
        422, "A stock import is text/csv or application/x-ndjson.", _FIX
    ),
    P.SAGA_NOT_FOUND: ProblemInfo(404, "No saga for this order.", "Check the order id."),
    P.FULFILLMENT_NOT_FOUND: ProblemInfo(404, "No such fulfilment order.", "Check the id."),
    P.ACTION_NOT_ALLOWED: ProblemInfo(
        409,
        "The action is out of turn for the resource's state (`extensions` lists what is).",
        _REREAD,
    ),
    P.LABEL_NOT_AVAILABLE: ProblemInfo(
        409, "The fulfilment has no shipment yet, so it has no label.", "Ship it first."
    ),
    P.HOLD_NOT_POSSIBLE: ProblemInfo(
        409,
        "The order cannot be held now (`extensions.reason`); with Retry-After, soon it can.",
        "If Retry-After is set, retry then; otherwise the order can no longer be held.",
    ),
    P.NOT_ON_HOLD: ProblemInfo(409, "The order is not on hold.", _REREAD),
    P.PAYMENT_NOT_NEEDED: ProblemInfo(
        409, "The order does not wait for a new payment method.", _REREAD
    ),
    P.NOT_IN_REVIEW: ProblemInfo(409, "The order is not held for review.", _REREAD),
    P.INVALID_PICK: ProblemInfo(
        422, "The pick names lines or quantities the fulfilment does not have.", _FIX
    ),
    P.NO_CARRIER_SERVICE: ProblemInfo(422, "No carrier service in the rate table matches.", _FIX),
    P.INVALID_RATE_TABLE: ProblemInfo(422, "The carrier rate table is not valid.", _FIX),
    P.LOCATION_NOT_ALLOWED: ProblemInfo(
        403, "The token does not allow this location.", "Use a client allowed there."
    ),
    P.RETURN_NOT_FOUND: ProblemInfo(404, "No such return.", "Check the id."),
    P.EXCEEDS_EXPECTED_UNITS: ProblemInfo(
        409, "More units received than the return still expects (received twice?).", _REREAD
    ),
    P.DUPLICATE_LINE: ProblemInfo(422, "The same order line appears twice in the return.", _FIX),
    P.NOT_RETURNABLE: ProblemInfo(
        422, "The return policy does not allow returning this.", "Do not retry."
    ),
    P.OUTSIDE_RETURN_WINDOW: ProblemInfo(
        422, "The return window for these units has closed.", "Do not retry."
    ),
    P.EXCEEDS_RETURNABLE: ProblemInfo(
        422, "More units than were delivered and not already returned.", _FIX
    ),
    P.RETURN_LIMIT_REACHED: ProblemInfo(
        422, "The order already has as many returns as the policy allows.", "Do not retry."
    ),
    P.UNKNOWN_RETURN_LINE: ProblemInfo(422, "A line id is not part of this return.", _FIX),
    P.WEBHOOK_ENDPOINT_NOT_FOUND: ProblemInfo(404, "No such webhook endpoint.", "Check the id."),
    P.INVALID_WEBHOOK_URL: ProblemInfo(
        422,
        "The webhook URL is not an absolute http(s) URL with a host (and no credentials).",
        _FIX,
    ),
    P.INSECURE_WEBHOOK_URL: ProblemInfo(
        422, "A webhook URL must use https outside development.", "Use an https URL."
    ),
    P.PRIVATE_WEBHOOK_TARGET: ProblemInfo(
        422,
        "The webhook URL names a loopback, private, link-local or reserved host.",
        "Use a public host name or address.",
    ),
    P.UNKNOWN_EVENT_TYPE: ProblemInfo(
        422,
        "An event type or pattern matches no event the system publishes; `unknown` lists them.",
        _FIX,
    ),
    P.INVALID_WEBHOOK_SECRET: ProblemInfo(
        422, "A signing secret is not whsec_ and the base64 of 24 to 64 bytes.", _FIX
    ),
    P.NOTIFICATION_NOT_FOUND: ProblemInfo(404, "No such customer notification.", "Check the id."),
    P.NOTIFICATION_OPTED_OUT: ProblemInfo(
        409,
        "The order, or its customer's e-mail address, opted out of notifications.",
        "Opt in again (PUT /v1/notification-preferences/{order_id}) first, if the customer "
        "asked for it.",
    ),
    P.WEBHOOK_DELIVERY_NOT_FOUND: ProblemInfo(
        404,
        "No such webhook delivery, or one of an endpoint the caller may not see.",
        "Check the id (the endpoint's deliveries list them).",
    ),
    P.WEBHOOK_ENDPOINT_DISABLED: ProblemInfo(
        409,
        "The webhook endpoint is disabled (switched off, or after failing too long): nothing "
        "would be sent to it.",
        "Enable it (PATCH `enabled: true`), then send again.",
    ),
    P.INVALID_REPLAY_SINCE: ProblemInfo(
        422,
        "`since` is not an RFC 3339 time with an offset (such as 2026-12-05T10:00:00Z), or "
        "lies in the future.",
        _FIX,
    ),
    P.INVALID_PERIOD: ProblemInfo(
        422,
        "The period of key figures asked for is empty, reversed, longer than the longest the API "
        "gives at once, or its granularity would make too many buckets.",
        _FIX,
    ),
    P.DEAD_LETTER_NOT_FOUND: ProblemInfo(
        404, "No dead letter has this id.", "Check the id (GET /v1/dead-letters lists them)."
    ),
    P.DEAD_LETTERS_NEED_UNNARROWED_TOKEN: ProblemInfo(
        403,
        "Dead letters span every channel and location: a token narrowed to some can neither "
        "read nor re-drive them.",
        "Use an unnarrowed admin token.",
    ),
    P.BROKER_UNAVAILABLE: ProblemInfo(
        503,
        "The message broker did not take the re-driven record in time; nothing was marked.",
        _RETRY,
    ),
}

# Codes the shared edge and libraries answer, whichever service serves the request.
SHARED: frozenset[ProblemCode] = frozenset(
    {
        P.VALIDATION_ERROR,
        P.MALFORMED_JSON,
        P.INVALID_TEXT,
        P.INVALID_CURSOR,
        P.UNAUTHENTICATED,
        P.FORBIDDEN,
        P.INSUFFICIENT_SCOPE,
        P.AUDIT_NEEDS_UNNARROWED_TOKEN,
        P.NOT_FOUND,
        P.METHOD_NOT_ALLOWED,
        P.CONFLICT,
        P.IDEMPOTENCY_KEY_REUSED,
        P.PRECONDITION_FAILED,
        P.PAYLOAD_TOO_LARGE,
        P.UNPROCESSABLE,
        P.DOMAIN_ERROR,
        P.PRECONDITION_REQUIRED,
        P.RATE_LIMITED,
        P.INTERNAL_ERROR,
        P.DEPENDENCY_UNAVAILABLE,
        P.DATABASE_UNAVAILABLE,
        P.DATABASE_BUSY,
        P.TRANSACTION_CONFLICT,
        P.OVERLOADED,
    }
)

# A framework error with no code of its own (a status the edge does not map) is answered as
# `http_<status>`; the codes above cover every status the services' routes can raise.
HTTP_FALLBACK_PREFIX = "http_"


def problems_markdown() -> str:
    """The registry as the Markdown table docs/errors.md holds."""
    rows = ["| Code | HTTP status | Meaning | What to do |", "|---|---|---|---|"]
    for code in sorted(ProblemCode, key=lambda c: (PROBLEMS[c].status, c.value)):
        info = PROBLEMS[code]
        rows.append(f"| `{code.value}` | {info.status} | {info.meaning} | {info.action} |")
    return "\n".join(rows) + "\n"
