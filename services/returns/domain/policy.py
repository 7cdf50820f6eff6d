"""The return policy: what may come back, for how long, who pays for it, and when money goes
back. Versioned; every return remembers the version it was judged by."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

ZERO = Decimal("0")


class Reason(StrEnum):
    DAMAGED = "damaged"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    SIZE_FIT = "size_fit"
    CHANGED_MIND = "changed_mind"
    OTHER = "other"


# The merchant's fault: by default these ship back free and get the original shipping back.
MERCHANT_FAULT = frozenset({Reason.DAMAGED, Reason.WRONG_ITEM, Reason.NOT_AS_DESCRIBED})


class Condition(StrEnum):
    RESELLABLE = "resellable"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"


class Disposition(StrEnum):
    RESTOCK = "restock"  # back on the shelf at the receiving location (inventory restocks)
    QUARANTINE = "quarantine"  # kept aside at the location for a person to decide
    WRITE_OFF = "write_off"  # destroyed or sent back to the vendor; never sold again


class RefundTiming(StrEnum):
    ON_APPROVAL = "on_approval"
    ON_DROP_OFF = "on_drop_off"
    ON_RECEIPT = "on_receipt"


class Payer(StrEnum):
    CUSTOMER = "customer"
    MERCHANT = "merchant"


def _default_payers() -> dict[Reason, Payer]:
    return {r: Payer.MERCHANT if r in MERCHANT_FAULT else Payer.CUSTOMER for r in Reason}


def _default_dispositions() -> dict[Condition, Disposition]:
    return {
        Condition.RESELLABLE: Disposition.RESTOCK,
        Condition.DAMAGED: Disposition.WRITE_OFF,
        Condition.DEFECTIVE: Disposition.QUARANTINE,
    }


@dataclass(frozen=True)
class ReturnPolicy:
    version: int = 0
    window_days: int = 30  # counted from the delivery of the line's units
    non_returnable_skus: frozenset[str] = frozenset()
    # Orders carrying one of these tags (say "final-sale") cannot be returned at all.
    non_returnable_tags: frozenset[str] = frozenset()
    restocking_fee_percent: Mapping[Reason, Decimal] = field(default_factory=dict)
    return_shipping_payer: Mapping[Reason, Payer] = field(default_factory=_default_payers)
    # Kept from the refund of a mail return whose shipping the customer pays.
    return_shipping_fee: Decimal = ZERO
    # Reasons for which the order's own shipping charge is paid back (once per order).
    refund_shipping_for: frozenset[Reason] = MERCHANT_FAULT
    refund_timing: RefundTiming = RefundTiming.ON_RECEIPT
    max_returns_per_order: int = 5
    # Returns with one of these reasons, or worth more than the amount, wait for a person.
    review_reasons: frozenset[Reason] = frozenset()
    review_above_amount: Decimal | None = None
    disposition: Mapping[Condition, Disposition] = field(default_factory=_default_dispositions)
    return_carrier: str = "DHL"
    return_service: str = "returns"

    def payer(self, reasons: frozenset[Reason]) -> Payer:
        """The merchant pays the parcel back when any line is returned for a reason it pays."""
        merchant = any(self.return_shipping_payer.get(r) is Payer.MERCHANT for r in reasons)
        return Payer.MERCHANT if merchant else Payer.CUSTOMER

    def fee_percent(self, reason: Reason) -> Decimal:
        return self.restocking_fee_percent.get(reason, ZERO)

    def needs_review(self, reasons: frozenset[Reason], value: Decimal) -> bool:
        if reasons & self.review_reasons:
            return True
        return self.review_above_amount is not None and value > self.review_above_amount

    def disposition_of(self, condition: Condition) -> Disposition:
        fallback = (
            Disposition.RESTOCK if condition is Condition.RESELLABLE else Disposition.QUARANTINE
        )
        return self.disposition.get(condition, fallback)

    # --- stored form ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_days": self.window_days,
            "non_returnable_skus": sorted(self.non_returnable_skus),
            "non_returnable_tags": sorted(self.non_returnable_tags),
            "restocking_fee_percent": {
                r.value: str(p) for r, p in self.restocking_fee_percent.items()
            },
            "return_shipping_payer": {
                r.value: p.value for r, p in self.return_shipping_payer.items()
            },
            "return_shipping_fee": str(self.return_shipping_fee),
            "refund_shipping_for": sorted(r.value for r in self.refund_shipping_for),
            "refund_timing": self.refund_timing.value,
            "max_returns_per_order": self.max_returns_per_order,
            "review_reasons": sorted(r.value for r in self.review_reasons),
            "review_above_amount": (
                str(self.review_above_amount) if self.review_above_amount is not None else None
            ),
            "disposition": {c.value: d.value for c, d in self.disposition.items()},
            "return_carrier": self.return_carrier,
            "return_service": self.return_service,
        }

    @classmethod
    def from_dict(cls, body: Mapping[str, Any], version: int) -> ReturnPolicy:
        above = body.get("review_above_amount")
        return cls(
            version=version,
            window_days=int(body["window_days"]),
            non_returnable_skus=frozenset(body["non_returnable_skus"]),
            non_returnable_tags=frozenset(body["non_returnable_tags"]),
            restocking_fee_percent={
                Reason(r): Decimal(p) for r, p in body["restocking_fee_percent"].items()
            },
            return_shipping_payer={
                Reason(r): Payer(p) for r, p in body["return_shipping_payer"].items()
            },
            return_shipping_fee=Decimal(body["return_shipping_fee"]),
            refund_shipping_for=frozenset(Reason(r) for r in body["refund_shipping_for"]),
            refund_timing=RefundTiming(body["refund_timing"]),
            max_returns_per_order=int(body["max_returns_per_order"]),
            review_reasons=frozenset(Reason(r) for r in body["review_reasons"]),
            review_above_amount=Decimal(above) if above is not None else None,
            disposition={Condition(c): Disposition(d) for c, d in body["disposition"].items()},
            return_carrier=body["return_carrier"],
            return_service=body["return_service"],
        )
