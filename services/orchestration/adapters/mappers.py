"""Rows <-> aggregates: the JSONB working detail of sagas, fulfilments and payment calls."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime, time
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from uuid import uuid5

from sqlalchemy import Row

from services.orchestration.domain.fulfillment import (
    Fulfillment,
    FulfillmentLine,
    Shipment,
    Status,
)
from services.orchestration.domain.order import OrderSnapshot
from services.orchestration.domain.payments import Kind, OpStatus, PaymentOperation
from services.orchestration.domain.saga import (
    DispatchPromise,
    Held,
    Hold,
    HoldReason,
    InFlight,
    OrderSaga,
    Payment,
    SagaState,
)

_MONEY = ("authorized", "capture_queued", "captured", "voided", "refund_queued", "refunded")


def _plain(value: Any) -> dict[str, Any]:
    """A dataclass whose fields hold no other dataclass, as a dict: what dataclasses.asdict
    makes of it, without its deep copy of every value (a saga's working detail is written
    at every save; lists are copied, the rest is immutable)."""
    return {
        f.name: list(v) if isinstance(v := getattr(value, f.name), list) else v
        for f in fields(value)
    }


def saga_data(saga: OrderSaga) -> dict[str, Any]:
    payment = _plain(saga.payment)
    for name in _MONEY:
        payment[name] = str(payment[name])
    return {
        "order": saga.order.to_dict(),
        "unrouted": saga.unrouted,
        "held": [_held_data(h) for h in saga.held],
        "in_flight": _in_flight(saga.in_flight) if saga.in_flight else None,
        "excluded": saga.excluded,
        "round": saga.round,
        "replans": saga.replans,
        "routing_attempts": saga.routing_attempts,
        "shipped": saga.shipped,
        "cancelled": saga.cancelled,
        "cancel_pending": saga.cancel_pending,
        "replan_pending": saga.replan_pending,
        "hold_reason": saga.hold_reason,
        "hold": _hold_data(saga.hold) if saga.hold else None,
        "holds": saga.holds,
        "payment": payment,
        "promises": [_promise_data(p) for p in saga.promises],
        "delays": saga.delays,
        "backorder_lapsed": saga.backorder_lapsed,
    }


def _held_data(h: Held) -> dict[str, Any]:
    d = _plain(h)
    d["expected_at"] = h.expected_at.isoformat() if h.expected_at else None
    d["cutoff"] = h.cutoff.isoformat() if h.cutoff else None
    return d


def _held_from(d: dict[str, Any]) -> Held:
    """Held units as saved (without the dates and calendar when saved before delays)."""
    values = dict(d)
    if values.get("expected_at"):
        values["expected_at"] = datetime.fromisoformat(values["expected_at"])
    if values.get("cutoff"):
        values["cutoff"] = time.fromisoformat(values["cutoff"])
    return Held(**values)


def _promise_data(p: DispatchPromise) -> dict[str, Any]:
    d = _plain(p)
    d["due"] = p.due.isoformat()
    d["cutoff"] = p.cutoff.isoformat() if p.cutoff else None
    d["lines"] = dict(p.lines)
    return d


def _promise_from(d: dict[str, Any]) -> DispatchPromise:
    values = dict(d)
    values["due"] = datetime.fromisoformat(values["due"])
    values["cutoff"] = time.fromisoformat(values["cutoff"]) if values.get("cutoff") else None
    return DispatchPromise(**values)


def _hold_data(hold: Hold) -> dict[str, Any]:
    return {
        "id": hold.id,
        "reason": hold.reason.value,
        "detail": hold.detail,
        "since": hold.since.isoformat(),
    }


def _hold_from(d: dict[str, Any], row: Row[Any] | SimpleNamespace) -> Hold | None:
    """The hold a saga is in. A saga held before holds had codes kept only its detail: its
    reason is read from that (a declined payment or else no location), since its last step."""
    if (found := d.get("hold")) is not None:
        return Hold(
            id=found["id"],
            reason=HoldReason(found["reason"]),
            detail=found["detail"],
            since=datetime.fromisoformat(found["since"]),
        )
    if row.state != SagaState.ON_HOLD.value:
        return None
    detail = d.get("hold_reason") or ""
    declined = detail.startswith("payment declined")
    return Hold(
        id=str(uuid5(row.order_id, f"hold-{d['round']}")),
        reason=HoldReason.PAYMENT_DECLINED if declined else HoldReason.UNROUTABLE,
        detail=detail,
        since=row.updated_at,
    )


def _in_flight(flight: InFlight) -> dict[str, Any]:
    return {
        "reservation_id": flight.reservation_id,
        "decision_id": flight.decision_id,
        "lines": [_held_data(h) for h in flight.lines],
    }


def saga_from(row: Row[Any] | SimpleNamespace, fulfillments: list[Fulfillment]) -> OrderSaga:
    d = row.data
    payment = dict(d["payment"])
    for name in _MONEY:
        payment[name] = Decimal(payment[name])
    flight = d["in_flight"]
    return OrderSaga(
        order_id=row.order_id,
        order=OrderSnapshot.from_dict(d["order"]),
        state=SagaState(row.state),
        started_at=row.started_at,
        updated_at=row.updated_at,
        due_at=row.due_at,
        deadline_at=row.deadline_at,
        unrouted=d["unrouted"],
        held=[_held_from(h) for h in d["held"]],
        in_flight=InFlight(
            flight["reservation_id"],
            flight["decision_id"],
            [_held_from(h) for h in flight["lines"]],
        )
        if flight
        else None,
        excluded=d["excluded"],
        round=d["round"],
        replans=d["replans"],
        routing_attempts=d["routing_attempts"],
        shipped=d["shipped"],
        cancelled=d["cancelled"],
        cancel_pending=d["cancel_pending"],
        replan_pending=d["replan_pending"],
        hold_reason=d["hold_reason"],
        hold=_hold_from(d, row),
        holds=d.get("holds", 0),
        payment=Payment(**payment),
        promises=[_promise_from(p) for p in d.get("promises", ())],
        delays=d.get("delays", 0),
        backorder_lapsed=d.get("backorder_lapsed", False),
        version=row.version,
        fulfillments=fulfillments,
    )


def fulfillment_data(f: Fulfillment) -> dict[str, Any]:
    shipment = None
    if f.shipment is not None:
        shipment = {**_plain(f.shipment), "shipped_at": f.shipment.shipped_at.isoformat()}
    return {
        "lines": [_plain(ln) for ln in f.lines],
        "reason": f.reason,
        "shipment": shipment,
        "history": f.history,
        "distance_km": f.distance_km,
        "domestic": f.domestic,
    }


def fulfillment_from(row: Row[Any] | SimpleNamespace) -> Fulfillment:
    d = row.data
    shipment = d.get("shipment")
    return Fulfillment(
        id=row.id,
        order_id=row.order_id,
        location_code=row.location_code,
        method=row.method,
        status=Status(row.status),
        lines=[FulfillmentLine(**ln) for ln in d["lines"]],
        created_at=row.created_at,
        updated_at=row.updated_at,
        reason=d.get("reason"),
        shipment=Shipment(
            **{**shipment, "shipped_at": datetime.fromisoformat(shipment["shipped_at"])}
        )
        if shipment
        else None,
        history=d.get("history", []),
        version=row.version,
        distance_km=d.get("distance_km"),
        domestic=d.get("domestic", True),
    )


def operation_row(op: PaymentOperation) -> dict[str, Any]:
    return {
        "id": op.id,
        "order_id": op.order_id,
        "kind": op.kind.value,
        "status": op.status.value,
        "amount": op.amount,
        "currency": op.currency,
        "attempts": op.attempts,
        "next_attempt_at": op.next_attempt_at,
        "created_at": op.created_at,
        "completed_at": op.completed_at,
        "data": {
            "shipment_id": op.shipment_id,
            "refund_id": op.refund_id,
            "lines": [list(pair) for pair in op.lines],
            "code": op.code,
            "reason": op.reason,
            "reference": op.reference,
        },
    }


def operation_from(row: Row[Any] | SimpleNamespace) -> PaymentOperation:
    d = row.data
    return PaymentOperation(
        id=row.id,
        order_id=row.order_id,
        kind=Kind(row.kind),
        amount=row.amount,
        currency=row.currency,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        status=OpStatus(row.status),
        attempts=row.attempts,
        shipment_id=d.get("shipment_id"),
        refund_id=d.get("refund_id"),
        lines=tuple((line_id, n) for line_id, n in d.get("lines", [])),
        code=d.get("code"),
        reason=d.get("reason"),
        reference=d.get("reference"),
        completed_at=row.completed_at,
    )
