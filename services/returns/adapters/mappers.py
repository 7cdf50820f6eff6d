"""Rows and stored documents to domain objects and back."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Row

from services.returns.domain.money import OrderCredits, Quote, QuotedLine
from services.returns.domain.order import KnownOrder, OrderLine
from services.returns.domain.parts import (
    Exchange,
    Label,
    Method,
    Receipt,
    ReceiptLine,
    Refund,
    RefundStatus,
    Resolution,
    ResolutionKind,
    ReturnLine,
    Status,
    TimelineEntry,
)
from services.returns.domain.policy import Condition, Disposition, Payer, Reason, ReturnPolicy
from services.returns.domain.rma import ReturnRequest

# --- orders ----------------------------------------------------------------------------------


def order_from(row: Row[Any], lines: list[Row[Any]]) -> KnownOrder:
    return KnownOrder(
        order_id=row.order_id,
        order_number=row.order_number,
        channel=row.channel,
        customer_email=row.customer_email,
        customer_name=row.customer_name,
        currency=row.currency,
        placed_at=row.placed_at,
        shipping_amount=row.shipping_amount,
        grand_total=row.grand_total,
        lines=[
            OrderLine(
                line_id=ln.line_id,
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                discount_amount=ln.discount_amount,
                tax_amount=ln.tax_amount,
                name=ln.name,
                shipped=ln.shipped,
                delivered=ln.delivered,
                delivered_at=ln.delivered_at,
            )
            for ln in lines
        ],
        tags=frozenset(row.tags),
        shipping_address=row.shipping_address,
    )


def credits_from(data: dict[str, Any]) -> OrderCredits:
    return OrderCredits(
        units={UUID(k): int(v) for k, v in data.get("units", {}).items()},
        amount=Decimal(data.get("amount", "0")),
        shipping_refunded=bool(data.get("shipping_refunded", False)),
    )


def credits_data(credits: OrderCredits) -> dict[str, Any]:
    return {
        "units": {str(k): v for k, v in credits.units.items() if v},
        "amount": str(credits.amount),
        "shipping_refunded": credits.shipping_refunded,
    }


# --- returns ---------------------------------------------------------------------------------


def return_data(r: ReturnRequest) -> dict[str, Any]:
    return {
        "currency": r.currency,
        "location_code": r.location_code,
        "resolution": {
            "kind": r.resolution.kind.value,
            "replacement_sku": r.resolution.replacement_sku,
            "replacement_unit_price": _str(r.resolution.replacement_unit_price),
        },
        "lines": [
            {
                "line_id": str(ln.line_id),
                "sku": ln.sku,
                "quantity": ln.quantity,
                "reason": ln.reason.value,
                "comment": ln.comment,
                "received": {c.value: n for c, n in ln.received.items()},
                "settled": ln.settled,
            }
            for ln in r.lines
        ],
        "policy": r.policy.to_dict() | {"version": r.policy.version},
        "label": None
        if r.label is None
        else {
            "carrier": r.label.carrier,
            "service": r.label.service,
            "tracking_number": r.label.tracking_number,
            "paid_by": r.label.paid_by.value,
        },
        "receipts": [
            {
                "id": str(rc.id),
                "location_code": rc.location_code,
                "at": rc.at.isoformat(),
                "lines": [
                    {
                        "line_id": str(x.line_id),
                        "quantity": x.quantity,
                        "condition": x.condition.value,
                        "disposition": x.disposition.value,
                    }
                    for x in rc.lines
                ],
            }
            for rc in r.receipts
        ],
        "refunds": [
            {
                "id": f.id,
                "method": f.method,
                "status": f.status.value,
                "requested_at": f.requested_at.isoformat(),
                "settled_at": f.settled_at.isoformat() if f.settled_at else None,
                "reason": f.reason,
                "retried": f.retried,
                "quote": f.quote.as_dict(),
            }
            for f in r.refunds
        ],
        "exchange": None
        if r.exchange is None
        else {
            "sku": r.exchange.sku,
            "units": r.exchange.units,
            "unit_price": str(r.exchange.unit_price),
            "credit": str(r.exchange.credit),
            "status": r.exchange.status,
            "order_id": str(r.exchange.order_id) if r.exchange.order_id else None,
            "reason": r.exchange.reason,
        },
        "rejection_reason": r.rejection_reason,
        "timeline": [
            {"at": t.at.isoformat(), "name": t.name, "detail": t.detail} for t in r.timeline
        ],
    }


def return_from(row: Row[Any]) -> ReturnRequest:
    d = row.data
    policy = d["policy"]
    res = d["resolution"]
    return ReturnRequest(
        id=row.id,
        rma_number=row.rma_number,
        order_id=row.order_id,
        currency=d["currency"],
        status=Status(row.status),
        method=Method(row.method),
        resolution=Resolution(
            ResolutionKind(res["kind"]),
            res["replacement_sku"],
            _dec(res["replacement_unit_price"]),
        ),
        lines=[
            ReturnLine(
                UUID(ln["line_id"]),
                ln["sku"],
                ln["quantity"],
                Reason(ln["reason"]),
                ln["comment"],
                {Condition(c): n for c, n in ln["received"].items()},
                ln["settled"],
            )
            for ln in d["lines"]
        ],
        policy=ReturnPolicy.from_dict(policy, policy["version"]),
        created_at=row.created_at,
        updated_at=row.updated_at,
        location_code=d["location_code"],
        label=None
        if d["label"] is None
        else Label(
            d["label"]["carrier"],
            d["label"]["service"],
            d["label"]["tracking_number"],
            Payer(d["label"]["paid_by"]),
        ),
        receipts=[
            Receipt(
                UUID(rc["id"]),
                rc["location_code"],
                tuple(
                    ReceiptLine(
                        UUID(x["line_id"]),
                        x["quantity"],
                        Condition(x["condition"]),
                        Disposition(x["disposition"]),
                    )
                    for x in rc["lines"]
                ),
                datetime.fromisoformat(rc["at"]),
            )
            for rc in d["receipts"]
        ],
        refunds=[_refund_from(f) for f in d["refunds"]],
        exchange=None if d["exchange"] is None else _exchange_from(d["exchange"]),
        rejection_reason=d["rejection_reason"],
        timeline=[
            TimelineEntry(datetime.fromisoformat(t["at"]), t["name"], t["detail"])
            for t in d["timeline"]
        ],
        version=row.version,
    )


def _refund_from(f: dict[str, Any]) -> Refund:
    q = f["quote"]
    return Refund(
        id=f["id"],
        method=f["method"],
        quote=Quote(
            tuple(
                QuotedLine(UUID(x["line_id"]), x["units"], Decimal(x["value"]), Decimal(x["fee"]))
                for x in q["lines"]
            ),
            Decimal(q["shipping"]),
            Decimal(q["return_shipping"]),
            Decimal(q["capped"]),
            Decimal(q.get("adjustment", "0")),
        ),
        status=RefundStatus(f["status"]),
        requested_at=datetime.fromisoformat(f["requested_at"]),
        settled_at=datetime.fromisoformat(f["settled_at"]) if f["settled_at"] else None,
        reason=f["reason"],
        retried=f.get("retried", False),
    )


def _exchange_from(x: dict[str, Any]) -> Exchange:
    return Exchange(
        sku=x["sku"],
        units=x["units"],
        unit_price=Decimal(x["unit_price"]),
        credit=Decimal(x["credit"]),
        status=x["status"],
        order_id=UUID(x["order_id"]) if x["order_id"] else None,
        reason=x["reason"],
    )


def _str(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _dec(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None
