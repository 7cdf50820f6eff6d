"""What a warehouse or store system reports about its fulfilment orders.

Each action locks the order's saga first (then its fulfilment orders), checks the action is
allowed now, applies it, and announces it; the saga reacts (re-routing short or rejected
units, committing stock and capturing money at shipment, completing the order at the end).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from uuid import uuid5

from services.orchestration.domain import carriers
from services.orchestration.domain import commands as c
from services.orchestration.domain import events as ev
from services.orchestration.domain.errors import (
    FulfillmentNotFound,
    InvalidPick,
    NoCarrierService,
)
from services.orchestration.domain.fulfillment import Action, Fulfillment, Shipment, Status
from services.orchestration.domain.saga import (
    FULFILLMENT_ACCEPTED,
    FULFILLMENT_LEFT,
    FULFILLMENT_REJECTED,
    FULFILLMENT_SHORT_PICKED,
    ORDER_SAGA,
    OrderSaga,
    line_quantities,
)
from services.orchestration.service_layer.unit_of_work import UnitOfWork


async def act(cmd: c.ActOnFulfillment, uow: UnitOfWork) -> Fulfillment:
    order_id = await uow.sagas.order_of_fulfillment(
        cmd.fulfillment_id, channels=cmd.channels, locations=cmd.locations
    )
    saga = await uow.sagas.get_for_update(order_id) if order_id else None
    f = next((f for f in saga.fulfillments if f.id == cmd.fulfillment_id), None) if saga else None
    if saga is None or f is None:
        raise FulfillmentNotFound(f"no fulfilment order {cmd.fulfillment_id}")
    if cmd.action is Action.PICK:
        _check_pick(f, cmd.picked)
    if not f.check(cmd.action):
        return f  # the same action again: it already took effect
    if cmd.action is Action.SHIP:
        _ship(saga, f, cmd, uow.clock.now(), await uow.rate_table())
    else:
        _ACTIONS[cmd.action](saga, f, cmd, uow.clock.now())
    await uow.sagas.save(saga)
    return f


def _check_pick(f: Fulfillment, picked: Mapping[str, int] | None) -> None:
    if picked is None:
        return
    owed = {ln.line_id: ln.quantity for ln in f.lines}
    wrong = [
        f"{line_id}: {n}"
        for line_id, n in picked.items()
        if line_id not in owed or n > owed[line_id]
    ]
    if wrong:
        raise InvalidPick(f"lines not in this fulfilment or more than it owes: {', '.join(wrong)}")


def _base(saga: OrderSaga, f: Fulfillment) -> dict[str, str]:
    return {"order_id": saga.key, "fulfillment_id": str(f.id), "location_code": f.location_code}


def _accept(saga: OrderSaga, f: Fulfillment, cmd: c.ActOnFulfillment, now: datetime) -> None:
    ORDER_SAGA.take(saga, FULFILLMENT_ACCEPTED, f, now)


def _reject(saga: OrderSaga, f: Fulfillment, cmd: c.ActOnFulfillment, now: datetime) -> None:
    ORDER_SAGA.take(saga, FULFILLMENT_REJECTED, f, cmd.reason or "rejected by the location", now)


def _pick(saga: OrderSaga, f: Fulfillment, cmd: c.ActOnFulfillment, now: datetime) -> None:
    shorts = f.pick(dict(cmd.picked or {ln.line_id: ln.quantity for ln in f.lines}), now)
    saga.events.append(
        ev.FulfillmentPicked(
            **_base(saga, f),
            lines=line_quantities(f.lines),
            short=tuple(ev.LineQuantity(line_id=s.line_id, quantity=s.quantity) for s in shorts),
            picked_at=now,
        )
    )
    if f.units == 0:
        f.status = Status.CANCELLED  # nothing found: nothing left to pack
        f.reason = "nothing could be picked"
    if shorts:
        ORDER_SAGA.take(saga, FULFILLMENT_SHORT_PICKED, f, shorts, "short pick", now)


def _pack(saga: OrderSaga, f: Fulfillment, cmd: c.ActOnFulfillment, now: datetime) -> None:
    f.move(Action.PACK, now)
    saga.events.append(ev.FulfillmentPacked(**_base(saga, f), packed_at=now))


def _ship(
    saga: OrderSaga,
    f: Fulfillment,
    cmd: c.ActOnFulfillment,
    now: datetime,
    rates: carriers.RateTable,
) -> None:
    carrier, service, tracking = cmd.carrier, cmd.service, cmd.tracking_number
    if carrier is None:
        # The order's own level, never another: a level no carrier serves is refused here
        # (and at capture), not shipped slower than the customer paid for.
        level = saga.order.service_level
        quote = carriers.select_service(
            rates, distance_km=f.distance_km, domestic=f.domestic, level=level
        )
        if quote is None:
            raise NoCarrierService(
                f"no carrier service in the rate table offers {level}: name carrier and service"
            )
        carrier, service = quote.carrier, quote.service
    if tracking is None:
        tracking = carriers.tracking_number(carrier, str(f.id))
    shipment_id = str(uuid5(f.id, "shipment"))
    f.shipment = Shipment(shipment_id, carrier, service, tracking, cmd.tracking_url, now)
    f.move(Action.SHIP, now, f"{carrier} {tracking}")
    saga.events.append(
        ev.FulfillmentShipped(
            **_base(saga, f),
            shipment_id=shipment_id,
            carrier=carrier,
            service=service,
            tracking_number=tracking,
            tracking_url=cmd.tracking_url,
            lines=line_quantities(f.lines),
            shipped_at=now,
        )
    )
    ORDER_SAGA.take(saga, FULFILLMENT_LEFT, f, shipment_id, now)


def _ready(saga: OrderSaga, f: Fulfillment, cmd: c.ActOnFulfillment, now: datetime) -> None:
    f.move(Action.READY_FOR_PICKUP, now)
    saga.events.append(ev.FulfillmentReadyForPickup(**_base(saga, f), ready_at=now))


def _collect(saga: OrderSaga, f: Fulfillment, cmd: c.ActOnFulfillment, now: datetime) -> None:
    shipment_id = str(uuid5(f.id, "collection"))
    f.shipment = Shipment(shipment_id, "pickup", None, shipment_id, None, now)
    f.move(Action.COLLECT, now)
    saga.events.append(
        ev.FulfillmentCollected(
            **_base(saga, f),
            shipment_id=shipment_id,
            lines=line_quantities(f.lines),
            collected_at=now,
        )
    )
    ORDER_SAGA.take(saga, FULFILLMENT_LEFT, f, shipment_id, now)
    saga.check_completion(now)


def _deliver(saga: OrderSaga, f: Fulfillment, cmd: c.ActOnFulfillment, now: datetime) -> None:
    f.move(Action.DELIVER, now)
    assert f.shipment is not None
    saga.events.append(
        ev.FulfillmentDelivered(
            **_base(saga, f),
            shipment_id=f.shipment.shipment_id,
            lines=line_quantities(f.lines),
            delivered_at=now,
        )
    )
    saga.check_completion(now)


# Shipping is not here: it also takes the carrier rate table in force (see act()).
_ACTIONS: dict[Action, Callable[[OrderSaga, Fulfillment, c.ActOnFulfillment, datetime], None]] = {
    Action.ACCEPT: _accept,
    Action.REJECT: _reject,
    Action.PICK: _pick,
    Action.PACK: _pack,
    Action.READY_FOR_PICKUP: _ready,
    Action.COLLECT: _collect,
    Action.DELIVER: _deliver,
}
