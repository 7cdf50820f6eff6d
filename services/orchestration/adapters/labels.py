"""Shipping labels: a shipped fulfilment mapped onto the shared 4x6 label (libs.labels)."""

from __future__ import annotations

from libs.labels import LabelContent, render_label
from services.orchestration.domain.fulfillment import Fulfillment
from services.orchestration.domain.order import OrderSnapshot


def label_content(f: Fulfillment, order: OrderSnapshot) -> LabelContent:
    assert f.shipment is not None
    to = order.ship_to
    return LabelContent(
        carrier=f.shipment.carrier,
        service=f.shipment.service,
        tracking_number=f.shipment.tracking_number,
        from_lines=(f.location_code,),
        to_lines=(to.name, to.line1, f"{to.postal_code} {to.city}", to.country),
        reference_lines=(f"Order {order.order_number}  -  {f.units} units",),
    )


def shipping_label(f: Fulfillment, order: OrderSnapshot) -> bytes:
    return render_label(label_content(f, order))
