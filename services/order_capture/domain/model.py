"""The order aggregate: its lines and their quantity buckets, the status derived from them, and
every change a caller or another service may make."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from services.order_capture.domain import commands, events
from services.order_capture.domain.calendar import next_business_day
from services.order_capture.domain.errors import (
    AmountPrecision,
    CancelQuantityTooLarge,
    DeliveryDateInPast,
    DeliveryDateUnreachable,
    DiscountExceedsLine,
    DuplicateSku,
    OrderNotCancellable,
    OrderNotEditable,
    PaymentAmountMismatch,
    PickupLocationRequired,
    TotalMismatch,
    UnknownLine,
    VersionMismatch,
)
from services.order_capture.domain.events import OrderEvent
from services.order_capture.domain.quantities import LineQuantities
from services.order_capture.domain.status import OrderStatus, derive_status
from services.order_capture.domain.totals import (
    Totals,
    compute_totals,
    fits_currency,
    line_subtotal,
    line_total,
    mismatches,
)
from services.order_capture.domain.values import (
    Address,
    Channel,
    Customer,
    Delivery,
    DeliveryMethod,
    OrderChanges,
    Payment,
    Priority,
    Shipment,
)


@dataclass
class OrderLine:
    id: UUID
    sku: str
    unit_price: Decimal
    quantities: LineQuantities
    discount_amount: Decimal = Decimal("0")
    tax_amount: Decimal = Decimal("0")
    name: str | None = None

    @property
    def quantity(self) -> int:
        return self.quantities.ordered

    @property
    def line_total(self) -> Decimal:
        return line_total(self)


@dataclass
class Order:
    id: UUID
    order_number: str
    channel: Channel
    channel_order_ref: str
    currency: str
    customer: Customer
    shipping_address: Address
    delivery: Delivery
    payment: Payment
    shipping_amount: Decimal
    lines: list[OrderLine]
    created_at: datetime
    updated_at: datetime
    billing_address: Address | None = None
    requested_delivery_date: date | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    notes: str | None = None
    priority: Priority = Priority.NORMAL
    status: OrderStatus = OrderStatus.PENDING
    on_hold: bool = False
    closed: bool = False
    shipments: list[Shipment] = field(default_factory=list)
    # The money given back so far: the sum of the refunds' amounts, each refund counted once.
    refunded_amount: Decimal = Decimal("0")
    applied_facts: set[str] = field(default_factory=set)
    event_sequence: int = 0
    version: int = 1
    events: list[OrderEvent] = field(default_factory=list, repr=False, compare=False)

    # --- placing ---------------------------------------------------------------------------

    @classmethod
    def place(
        cls,
        cmd: commands.PlaceOrder,
        *,
        id: UUID,
        order_number: str,
        line_ids: list[UUID],
        now: datetime,
    ) -> Order:
        _check_new_order(cmd, today=now.date())
        lines = [
            OrderLine(
                id=line_id,
                sku=ln.sku,
                unit_price=ln.unit_price,
                quantities=LineQuantities(ordered=ln.quantity),
                discount_amount=ln.discount_amount,
                tax_amount=ln.tax_amount,
                name=ln.name,
            )
            for line_id, ln in zip(line_ids, cmd.lines, strict=True)
        ]
        order = cls(
            id=id,
            order_number=order_number,
            channel=cmd.channel,
            channel_order_ref=cmd.channel_order_ref,
            currency=cmd.currency,
            customer=cmd.customer,
            shipping_address=cmd.shipping_address,
            billing_address=cmd.billing_address,
            delivery=cmd.delivery,
            payment=cmd.payment,
            shipping_amount=cmd.shipping_amount,
            lines=lines,
            requested_delivery_date=cmd.requested_delivery_date,
            tags=cmd.tags,
            metadata=dict(cmd.metadata),
            notes=cmd.notes,
            created_at=now,
            updated_at=now,
        )
        order._record(
            events.OrderPlaced(
                at=now, source=events.ORDER_CAPTURE, reason=f"placed on {cmd.channel}"
            )
        )
        return order

    @property
    def totals(self) -> Totals:
        return compute_totals(self.lines, self.shipping_amount)

    @property
    def has_shipped(self) -> bool:
        return any(line.quantities.shipped for line in self.lines)

    def line(self, line_id: UUID) -> OrderLine:
        for line in self.lines:
            if line.id == line_id:
                return line
        raise UnknownLine(f"order {self.order_number} has no line {line_id}", line_id=str(line_id))

    # --- edits and cancellation by the channel or the customer -------------------------------

    def edit(self, changes: OrderChanges, *, expected_version: int, now: datetime) -> bool:
        """Apply a PATCH; returns False when nothing actually changed."""
        if expected_version != self.version:
            raise VersionMismatch(
                f"If-Match names version {expected_version}, the order is at {self.version}",
                current_version=self.version,
            )
        if self.has_shipped or self.status is OrderStatus.CANCELLED:
            raise OrderNotEditable(
                f"order {self.order_number} is {self.status.value}; only unshipped orders change"
            )
        changed: list[str] = []
        if changes.shipping_address and changes.shipping_address != self.shipping_address:
            self.shipping_address = changes.shipping_address
            changed.append("shipping_address")
        if changes.delivery and changes.delivery != self.delivery:
            _check_delivery(changes.delivery)
            self.delivery = changes.delivery
            changed.append("delivery")
        if changes.contact:
            contact = replace(
                self.customer,
                email=changes.contact.email or self.customer.email,
                name=changes.contact.name or self.customer.name,
                phone=changes.contact.phone or self.customer.phone,
            )
            if contact != self.customer:
                self.customer = contact
                changed.append("customer")
        if changes.notes is not None and (changes.notes or None) != self.notes:
            self.notes = changes.notes or None
            changed.append("notes")
        if not changed:
            return False
        self._touch(now)
        self._record(
            events.OrderUpdated(
                at=now,
                source=events.ORDER_CAPTURE,
                reason=f"edited: {', '.join(changed)}",
                changed_fields=tuple(changed),
            )
        )
        return True

    def change_priority(self, priority: Priority, reason: str, *, now: datetime) -> bool:
        """Expedite the order (or take it back to normal) while anything is left to serve;
        the same priority again changes nothing."""
        if self.has_shipped or self.status is OrderStatus.CANCELLED:
            raise OrderNotEditable(
                f"order {self.order_number} is {self.status.value}; only unshipped orders change"
            )
        if priority is self.priority:
            return False
        previous, self.priority = self.priority, priority
        self._touch(now)
        self._record(
            events.PriorityChanged(
                at=now,
                source=events.ORDER_CAPTURE,
                reason=reason or f"priority {priority.value}",
                priority=priority.value,
                previous_priority=previous.value,
            )
        )
        return True

    def cancel(
        self,
        *,
        quantities: Mapping[UUID, int] | None,
        reason: str,
        requested_by: str,
        cancellation_id: str,
        now: datetime,
    ) -> bool:
        """Cancel unshipped units (all of them when `quantities` is None).

        Returns False when a whole-order cancellation finds the order already cancelled:
        repeating a cancellation is harmless.
        """
        if quantities is None:
            if self.status is OrderStatus.CANCELLED:
                return False
            wanted = {
                ln.id: ln.quantities.unshipped for ln in self.lines if ln.quantities.unshipped
            }
            if not wanted:
                raise OrderNotCancellable(f"every unit of order {self.order_number} has shipped")
        else:
            wanted = dict(quantities)
            for line_id, quantity in wanted.items():
                line = self.line(line_id)
                if quantity > line.quantities.unshipped:
                    raise CancelQuantityTooLarge(
                        f"line {line_id} ({line.sku}) has {line.quantities.unshipped} unit(s) "
                        f"left to cancel, {quantity} asked",
                        line_id=str(line_id),
                        requested=quantity,
                        cancellable=line.quantities.unshipped,
                    )
        cancelled = tuple(
            (str(lid), self.line(lid).quantities.cancel(q)) for lid, q in wanted.items()
        )
        self._touch(now)
        self._record(
            events.CancellationRequested(
                at=now,
                source=events.ORDER_CAPTURE,
                reason=reason,
                cancellation_id=cancellation_id,
                requested_by=requested_by,
                quantities=cancelled,
            )
        )
        self._refresh_status(
            reason=f"cancelled by {requested_by}: {reason}", source=events.ORDER_CAPTURE, at=now
        )
        if self.status is OrderStatus.CANCELLED:
            self._record(events.OrderCancelled(at=now, source=events.ORDER_CAPTURE, reason=reason))
        return True

    # --- facts reported by the other services ------------------------------------------------

    def record_stock_reserved(self, cmd: commands.RecordStockReserved, *, now: datetime) -> bool:
        by_sku = {line.sku: line for line in self.lines}

        def apply() -> None:
            for sku, quantity in cmd.quantities_by_sku.items():
                if sku in by_sku:
                    by_sku[sku].quantities.reserve(quantity)
            for sku, quantity in cmd.backordered_by_sku.items():
                if sku in by_sku:
                    by_sku[sku].quantities.backorder(quantity)

        return self._apply_fact(cmd, "stock_reserved", apply, now=now, details=cmd.details)

    def record_stock_shortage(self, cmd: commands.RecordStockShortage, *, now: datetime) -> bool:
        def apply() -> None:
            # All or nothing: a rejected reservation holds nothing, so the short lines' units
            # all wait for stock.
            for line in self.lines:
                if line.sku in cmd.skus:
                    line.quantities.backorder(line.quantities.waiting)

        return self._apply_fact(cmd, "stock_shortage", apply, now=now, details=cmd.details)

    def record_allocation(self, cmd: commands.RecordAllocation, *, now: datetime) -> bool:
        return self._apply_per_line(
            cmd, "allocated", cmd.quantities, LineQuantities.allocate, now=now, details=cmd.details
        )

    def record_shipment(self, cmd: commands.RecordShipment, *, now: datetime) -> bool:
        details: dict[str, Any] = {
            "shipment_id": cmd.shipment_id,
            "carrier": cmd.carrier,
            "tracking_number": cmd.tracking_number,
            "lines": _line_details(cmd.quantities),
        }

        def apply() -> None:
            for line_id, quantity in cmd.quantities.items():
                line = self.line(line_id)
                _, late = line.quantities.ship(quantity)
                if late:
                    details.setdefault("cancellation_overtaken", []).append(
                        {"line_id": str(line_id), "quantity": late}
                    )
            self.shipments.append(
                Shipment(
                    shipment_id=cmd.shipment_id,
                    carrier=cmd.carrier,
                    tracking_number=cmd.tracking_number,
                    tracking_url=cmd.tracking_url,
                    shipped_at=cmd.at,
                )
            )

        return self._apply_fact(cmd, "shipped", apply, now=now, details=details)

    def record_delivery(self, cmd: commands.RecordDelivery, *, now: datetime) -> bool:
        def apply() -> None:
            for line_id, quantity in cmd.quantities.items():
                self.line(line_id).quantities.deliver(quantity)
            for shipment in self.shipments:
                if shipment.shipment_id == cmd.shipment_id:
                    shipment.delivered_at = cmd.at

        details = {"shipment_id": cmd.shipment_id, "lines": _line_details(cmd.quantities)}
        return self._apply_fact(cmd, "delivered", apply, now=now, details=details)

    def record_collection(self, cmd: commands.RecordCollection, *, now: datetime) -> bool:
        shipped = self.record_shipment(cmd, now=now)
        delivery = commands.RecordDelivery(
            order_id=cmd.order_id,
            fact_key=f"{cmd.fact_key}:delivered",
            source=cmd.source,
            at=cmd.at,
            reason=cmd.reason,
            shipment_id=cmd.shipment_id,
            quantities=cmd.quantities,
        )
        return self.record_delivery(delivery, now=now) or shipped

    def record_return(self, cmd: commands.RecordReturn, *, now: datetime) -> bool:
        return self._apply_per_line(
            cmd, "returned", cmd.quantities, LineQuantities.return_, now=now, details=cmd.details
        )

    def record_refund(self, cmd: commands.RecordRefund, *, now: datetime) -> bool:
        def apply() -> None:
            for line_id, quantity in cmd.quantities.items():
                self.line(line_id).quantities.refund(quantity)
            self.refunded_amount += cmd.amount

        details = {**cmd.details, "lines": _line_details(cmd.quantities)}
        return self._apply_fact(cmd, "refunded", apply, now=now, details=details)

    def record_hold(self, cmd: commands.RecordHold, *, now: datetime) -> bool:
        def apply() -> None:
            self.on_hold = cmd.held

        kind = "held" if cmd.held else "hold_released"
        return self._apply_fact(cmd, kind, apply, now=now, details={})

    def record_delay(self, cmd: commands.RecordDelay, *, now: datetime) -> bool:
        return self._apply_fact(cmd, "delayed", lambda: None, now=now, details=cmd.details)

    def record_completion(self, cmd: commands.RecordCompletion, *, now: datetime) -> bool:
        def apply() -> None:
            self.closed = True

        return self._apply_fact(cmd, "completed", apply, now=now, details={})

    # --- internals -----------------------------------------------------------------------------

    def _apply_per_line(
        self,
        cmd: commands.Report,
        kind: str,
        quantities: Mapping[UUID, int],
        move: Callable[[LineQuantities, int], Any],
        *,
        now: datetime,
        details: Mapping[str, Any],
    ) -> bool:
        def apply() -> None:
            for line_id, quantity in quantities.items():
                move(self.line(line_id).quantities, quantity)

        merged = {**details, "lines": _line_details(quantities)}
        return self._apply_fact(cmd, kind, apply, now=now, details=merged)

    def _apply_fact(
        self,
        cmd: commands.Report,
        kind: str,
        apply: Callable[[], None],
        *,
        now: datetime,
        details: Mapping[str, Any],
    ) -> bool:
        """Apply a report at most once (by its business key), then re-derive the status."""
        if cmd.fact_key in self.applied_facts:
            return False
        apply()
        self.applied_facts.add(cmd.fact_key)
        self._touch(now)
        self._record(
            events.FactRecorded(
                at=cmd.at, source=cmd.source, reason=cmd.reason, kind=kind, details=dict(details)
            )
        )
        self._refresh_status(reason=cmd.reason, source=cmd.source, at=cmd.at)
        return True

    def _refresh_status(self, *, reason: str, source: str, at: datetime) -> None:
        status = derive_status(
            [ln.quantities for ln in self.lines], on_hold=self.on_hold, closed=self.closed
        )
        if status is self.status:
            return
        previous, self.status = self.status, status
        self._record(
            events.StatusChanged(
                at=at,
                source=source,
                reason=reason,
                previous_status=previous.value,
                status=status.value,
            )
        )

    def _touch(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = max(self.updated_at, now)

    def _record(self, event: OrderEvent) -> None:
        if event.published:
            self.event_sequence += 1
            event = replace(event, sequence=self.event_sequence)
        self.events.append(event)


def _line_details(quantities: Mapping[UUID, int]) -> list[dict[str, Any]]:
    return [{"line_id": str(lid), "quantity": q} for lid, q in quantities.items()]


def _check_delivery(delivery: Delivery) -> None:
    pickup = delivery.method is DeliveryMethod.PICKUP
    if pickup != bool(delivery.pickup_location_code):
        raise PickupLocationRequired(
            "delivery.pickup_location_code is required with pickup and not allowed with ship",
            field="delivery.pickup_location_code",
        )


def _check_requested_date(requested: date | None, delivery: Delivery, *, today: date) -> None:
    """A requested delivery date ("deliver by") must be one some service could meet: today
    at the earliest for pickup, the next business day for a shipped order (no carrier
    delivers the day it is dispatched). Whether a location can meet it is routing's to
    find; an order no location can meet is still routed, to the best location."""
    if requested is None:
        return
    if requested < today:
        raise DeliveryDateInPast(f"requested_delivery_date {requested} is before today ({today})")
    if delivery.method is DeliveryMethod.SHIP and requested < (
        earliest := next_business_day(today)
    ):
        raise DeliveryDateUnreachable(
            f"requested_delivery_date {requested} cannot be met: a shipped order arrives on "
            f"{earliest} at the earliest (the next business day)",
            field="requested_delivery_date",
            earliest_delivery_date=earliest.isoformat(),
        )


def _check_new_order(cmd: commands.PlaceOrder, *, today: date) -> None:
    skus = [line.sku for line in cmd.lines]
    duplicates = sorted({s for s in skus if skus.count(s) > 1})
    if duplicates:
        # Refused rather than merged: two lines of one SKU usually mean a client bug (a double
        # add-to-cart), merging would hide it, and stock and shipment reports name lines by SKU.
        raise DuplicateSku(
            f"SKU(s) on more than one line: {', '.join(duplicates)}", skus=duplicates
        )
    _check_delivery(cmd.delivery)
    _check_requested_date(cmd.requested_delivery_date, cmd.delivery, today=today)
    amounts = {"shipping_amount": cmd.shipping_amount, "payment.amount": cmd.payment.amount}
    for i, line in enumerate(cmd.lines):
        amounts |= {
            f"lines.{i}.unit_price": line.unit_price,
            f"lines.{i}.discount_amount": line.discount_amount,
            f"lines.{i}.tax_amount": line.tax_amount,
        }
        if line.discount_amount > line_subtotal(line):
            raise DiscountExceedsLine(
                f"line {i} ({line.sku}): discount {line.discount_amount} exceeds "
                f"{line_subtotal(line)}",
                field=f"lines.{i}.discount_amount",
            )
    too_precise = sorted(
        name for name, amount in amounts.items() if not fits_currency(amount, cmd.currency)
    )
    if too_precise:
        raise AmountPrecision(
            f"{cmd.currency} amounts take at most its minor units: {', '.join(too_precise)}",
            fields=too_precise,
        )
    totals = compute_totals(cmd.lines, cmd.shipping_amount)
    wrong = mismatches(totals, dict(cmd.claimed_totals))
    if wrong:
        raise TotalMismatch(
            "; ".join(
                f"{name}: sent {sent}, computed {ours}" for name, (sent, ours) in wrong.items()
            ),
            mismatches={name: {"sent": s, "computed": c} for name, (s, c) in wrong.items()},
        )
    if cmd.payment.amount != totals.grand_total:
        raise PaymentAmountMismatch(
            f"payment.amount {cmd.payment.amount} is not the grand total {totals.grand_total}",
            grand_total=str(totals.grand_total),
        )
