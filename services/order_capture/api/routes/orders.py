"""The orders resource: validate, build a command, call the bus, render what the queries read.

Every /v1 route names its scope; every order route also narrows by the caller's channels
claim in its query, so an order of another channel answers exactly like a missing one (404).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from prometheus_client import Counter

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep, fingerprint
from libs.http.etag import IfMatchDep, etag_of, version_from_if_match
from libs.http.fields import Timestamp
from libs.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from libs.http.problems import problem_responses
from libs.http.responses import model_response
from libs.money import display_amount, minor_units
from services.order_capture.adapters import queries
from services.order_capture.adapters.tables import LINE_BUCKETS
from services.order_capture.api.schemas.orders import (
    AddressRead,
    CancelRequest,
    CustomerRead,
    DeliveryIn,
    DeliveryRead,
    LineQuantitiesRead,
    OrderCreate,
    OrderLineRead,
    OrderNumber,
    OrderPage,
    OrderPatch,
    OrderRead,
    PaymentRead,
    PriorityChange,
    ShipmentRead,
    TotalsRead,
)
from services.order_capture.api.schemas.timeline import TimelineEntryRead, TimelinePage
from services.order_capture.domain import commands
from services.order_capture.domain.errors import (
    ChannelNotAllowed,
    OrderNotFound,
    ServiceLevelUnavailable,
)
from services.order_capture.domain.status import OrderStatus
from services.order_capture.domain.totals import line_total
from services.order_capture.domain.values import Channel, DeliveryMethod
from services.order_capture.service_layer.handlers.placing import Placing

router = APIRouter(tags=["orders"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
CHANNEL_ACTOR = "channel"

# On GET /metrics (libs.observability.metrics) beside oms_events_published_total, which counts
# the placed events by type alone: their channel is in the payload the relay never decodes.
ORDERS_PLACED = Counter(
    "oms_orders_placed",
    "Orders placed, by sales channel (a replayed Idempotency-Key places none)",
    ["channel"],
)

Reader = Annotated[Principal, requires(Scope.ORDERS_READ)]
Writer = Annotated[Principal, requires(Scope.ORDERS_WRITE)]


async def _render(
    session: ReadSessionDep, order_id: UUID, response: Response, caller: Principal
) -> OrderRead:
    view = await queries.get_order(session, order_id, channels=caller.channels)
    if view is None:
        raise OrderNotFound(f"no order {order_id}")
    response.headers["ETag"] = etag_of(view.order.version)
    return order_read(view)


async def _visible(session: ReadSessionDep, order_id: UUID, caller: Principal) -> None:
    """404, as for a missing order, unless the caller sees the order: checked before a change
    is attempted. The order's channel never changes, so the check cannot go stale."""
    if not await queries.order_exists(session, order_id, channels=caller.channels):
        raise OrderNotFound(f"no order {order_id}")


def _check_offered(request: Request, delivery: DeliveryIn | None) -> None:
    """A shipped order's service level must be one a carrier serves (SERVICE_LEVELS): 422
    service_level_unavailable otherwise, never a silent downgrade later."""
    if delivery is None or delivery.method is not DeliveryMethod.SHIP:
        return
    offered = [
        level.strip()
        for level in request.app.state.container.settings.SERVICE_LEVELS.split(",")
        if level.strip()
    ]
    if delivery.service_level.value not in offered:
        raise ServiceLevelUnavailable(
            f"no carrier service offers {delivery.service_level.value}; offered: "
            + ", ".join(offered),
            field="delivery.service_level",
            offered=offered,
        )


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderRead,
    summary="Place an order",
    responses=problem_responses(409, 413, 422, 503),
)
async def create(
    body: OrderCreate,
    request: Request,
    caller: Writer,
    idempotency_key: IdempotencyKeyDep = None,
) -> Response:
    """Accept an order from a sales channel. Every total is computed here; totals the client
    sends must match them. The order starts `pending` and moves as the other services answer.
    A client narrowed to some channels places orders of those only (403
    `channel_not_allowed`)."""
    # Before the Idempotency-Key is looked at: another channel's client cannot replay a key.
    if not caller.sees_channel(body.channel.value):
        raise ChannelNotAllowed(f"this client may not place orders of channel {body.channel}")
    _check_offered(request, body.delivery)
    command = body.to_command(
        idempotency_key=idempotency_key, fingerprint=fingerprint(body.model_dump(mode="json"))
    )
    placing: Placing = request.app.state.placing
    placed = await placing.place(command)
    if isinstance(placed, UUID):
        # Answered by the general path (a replayed key): the order as stored.
        async with request.app.state.container.session_factory() as session:
            view = await queries.get_order(session, placed, channels=caller.channels)
        if view is None:
            raise OrderNotFound(f"no order {placed}")
    else:
        ORDERS_PLACED.labels(body.channel.value).inc()
        view = queries.view_of_written(placed.order, placed.lines)
    order = order_read(view)
    return model_response(
        order,
        status_code=201,
        headers={"Location": f"/v1/orders/{order.id}", "ETag": etag_of(order.version)},
    )


@router.get(
    "/orders/{order_id}", summary="Get an order", responses=problem_responses(404, 422, 503)
)
async def get(
    order_id: UUID, response: Response, session: ReadSessionDep, caller: Reader
) -> OrderRead:
    """The order with its lines, their quantity buckets, totals, shipments and status. The
    ETag header carries its version for a later PATCH."""
    return await _render(session, order_id, response, caller)


@router.get(
    "/orders/by-number/{order_number}",
    summary="Get an order by its order number",
    responses=problem_responses(404, 422, 503),
)
async def get_by_number(
    order_number: OrderNumber, response: Response, session: ReadSessionDep, caller: Reader
) -> OrderRead:
    """The same as GET /orders/{id}, found by the human order number (e.g. OMS-00001000)."""
    view = await queries.get_order_by_number(session, order_number, channels=caller.channels)
    if view is None:
        raise OrderNotFound(f"no order {order_number}")
    response.headers["ETag"] = etag_of(view.order.version)
    return order_read(view)


@router.get("/orders", summary="List orders, newest first", responses=problem_responses(422, 503))
async def list_(
    session: ReadSessionDep,
    caller: Reader,
    status: OrderStatus | None = None,
    channel: Channel | None = None,
    customer_email: Annotated[str | None, Query(max_length=254)] = None,
    channel_order_ref: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="The channel's own order reference, matched exactly",
            examples=["WEB-100234"],
        ),
    ] = None,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    created_from: Annotated[
        Timestamp | None, Query(description="Inclusive, RFC 3339 with offset")
    ] = None,
    created_to: Annotated[
        Timestamp | None, Query(description="Exclusive, RFC 3339 with offset")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> OrderPage:
    """Cursor-paginated orders, newest first. Filters combine (AND); the e-mail matches
    case-insensitively, `channel_order_ref` exactly (the reference is unique per channel, so it
    finds one order a channel, or one per channel that used it), `sku` finds orders with a line
    of that SKU. Only orders of the caller's channels are listed (a `channel` filter on another
    channel finds none)."""
    page = await queries.list_orders(
        session,
        channels=caller.channels,
        limit=limit,
        cursor=cursor,
        status=status.value if status else None,
        channel=channel.value if channel else None,
        customer_email=customer_email,
        channel_order_ref=channel_order_ref,
        sku=sku,
        created_from=created_from,
        created_to=created_to,
    )
    return OrderPage(items=[order_read(view) for view in page.items], next_cursor=page.next_cursor)


@router.get(
    "/orders/{order_id}/timeline",
    summary="The order's timeline",
    responses=problem_responses(404, 422, 503),
)
async def timeline(
    order_id: UUID,
    session: ReadSessionDep,
    caller: Reader,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> TimelinePage:
    """Every status change and business event of the order, oldest first, each with its time,
    the service it came from and the reason."""
    await _visible(session, order_id, caller)
    page = await queries.timeline(
        session, order_id, channels=caller.channels, limit=limit, cursor=cursor
    )
    return TimelinePage(
        items=[
            TimelineEntryRead(
                at=r.occurred_at,
                source=r.source,
                kind=r.kind,
                reason=r.reason,
                previous_status=r.previous_status,
                status=r.status,
                event_sequence=r.event_sequence,
                details=r.details,
            )
            for r in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.patch(
    "/orders/{order_id}",
    summary="Edit an order before it ships",
    responses=problem_responses(404, 409, 412, 413, 422, 428, 503),
)
async def update(
    order_id: UUID,
    body: OrderPatch,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    request: Request,
    if_match: IfMatchDep = None,
) -> OrderRead:
    """Change the shipping address, delivery, customer contact or notes. Needs If-Match with
    the ETag of the version being edited (412 if the order changed since, 428 without it);
    409 `order_not_editable` once anything has shipped. An address or delivery change is
    published (oms.order.updated, replan_required) so unshipped work is planned again."""
    await _visible(session, order_id, caller)
    _check_offered(request, body.delivery)
    await bus.handle(
        commands.EditOrder(
            order_id=order_id,
            expected_version=version_from_if_match(if_match),
            changes=body.to_changes(),
        )
    )
    return await _render(session, order_id, response, caller)


@router.post(
    "/orders/{order_id}/cancel",
    summary="Cancel an order or some of its units",
    responses=problem_responses(404, 409, 413, 422, 503),
)
async def cancel(
    order_id: UUID,
    body: CancelRequest,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    idempotency_key: IdempotencyKeyDep = None,
) -> OrderRead:
    """Without `lines`, every unit not yet shipped; with `lines`, just those units. Shipped
    units cannot be cancelled (return them instead). Cancelling a cancelled order again
    changes nothing; send an Idempotency-Key to make a partial cancellation safe to retry."""
    await _visible(session, order_id, caller)
    await bus.handle(
        commands.CancelOrder(
            order_id=order_id,
            reason=body.reason,
            requested_by=CHANNEL_ACTOR,
            quantities=None if body.lines is None else _units_per_line(body),
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint(
                {"order_id": str(order_id), **body.model_dump(mode="json")}
            ),
        )
    )
    return await _render(session, order_id, response, caller)


@router.post(
    "/orders/{order_id}/priority",
    summary="Expedite an order, or take it back to normal",
    responses=problem_responses(404, 409, 422, 503),
)
async def change_priority(
    order_id: UUID,
    body: PriorityChange,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
) -> OrderRead:
    """`high` puts the order first in line for incoming stock (its backorders are served
    before those of normal orders placed earlier); published as oms.order.priority_changed.
    The same priority again changes nothing, so a retry is safe. 409 `order_not_editable`
    once anything has shipped or the order is cancelled."""
    await _visible(session, order_id, caller)
    await bus.handle(
        commands.ChangePriority(order_id=order_id, priority=body.priority, reason=body.reason)
    )
    return await _render(session, order_id, response, caller)


def _units_per_line(body: CancelRequest) -> dict[UUID, int]:
    """The same line twice in one request counts twice (its quantities add up)."""
    total: dict[UUID, int] = {}
    for line in body.lines or ():
        total[line.line_id] = total.get(line.line_id, 0) + line.quantity
    return total


def _address(data: dict[str, Any] | None) -> AddressRead | None:
    if data is None:
        return None
    return AddressRead.of_stored(data)


def order_read(view: queries.OrderView) -> OrderRead:
    """The response of an order from its stored rows: amounts shown in the currency's minor
    units, the token of the payment left out."""
    row, lines, shipments = view.order, view.lines, view.shipments
    units = minor_units(row.currency)

    def money(amount: Decimal) -> Decimal:
        return display_amount(amount, units)

    shipping_address = _address(row.shipping_address)
    assert shipping_address is not None  # NOT NULL column
    return OrderRead(
        id=row.id,
        order_number=row.order_number,
        channel=row.channel,
        channel_order_ref=row.channel_order_ref,
        status=row.status,
        currency=row.currency,
        customer=CustomerRead(
            id=row.customer_id,
            email=row.customer_email,
            name=row.customer_name,
            phone=row.customer_phone,
        ),
        shipping_address=shipping_address,
        billing_address=_address(row.billing_address),
        delivery=DeliveryRead(
            method=row.delivery_method,
            service_level=row.service_level,
            pickup_location_code=row.pickup_location_code,
        ),
        payment=PaymentRead(
            method=row.payment["method"],
            amount=money(Decimal(row.payment["amount"])),
            authorization_ref=row.payment.get("authorization_ref"),
        ),
        lines=[
            OrderLineRead(
                id=ln.id,
                sku=ln.sku,
                name=ln.name,
                quantity=ln.quantity,
                unit_price=money(ln.unit_price),
                discount_amount=money(ln.discount_amount),
                tax_amount=money(ln.tax_amount),
                line_total=money(line_total(ln)),
                quantities=LineQuantitiesRead(
                    ordered=ln.quantity, **{b: getattr(ln, b) for b in LINE_BUCKETS}
                ),
            )
            for ln in lines
        ],
        totals=TotalsRead(
            subtotal=money(row.subtotal),
            discount_total=money(row.discount_total),
            tax_total=money(row.tax_total),
            shipping_amount=money(row.shipping_amount),
            grand_total=money(row.grand_total),
            refunded=money(row.refunded_amount),
        ),
        requested_delivery_date=row.requested_delivery_date,
        tags=list(row.tags),
        metadata=dict(row.metadata),
        notes=row.notes,
        priority=row.priority,
        shipments=[ShipmentRead.model_validate(s, from_attributes=True) for s in shipments],
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
