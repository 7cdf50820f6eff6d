"""Shipping labels as PDF (fpdf2): a 4x6 inch label with the carrier, tracking number as text
and as a Code 39 barcode, ship-from and ship-to."""

from __future__ import annotations

from fpdf import FPDF

from services.orchestration.domain.fulfillment import Fulfillment
from services.orchestration.domain.order import OrderSnapshot

INCH_MM = 25.4


def shipping_label(f: Fulfillment, order: OrderSnapshot) -> bytes:
    assert f.shipment is not None
    pdf = FPDF(unit="mm", format=(4 * INCH_MM, 6 * INCH_MM))
    pdf.set_auto_page_break(False)
    pdf.set_title(f"Label {f.shipment.tracking_number}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(
        0,
        10,
        _latin1(f"{f.shipment.carrier.upper()} {f.shipment.service or ''}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 5, _latin1(f"FROM: {f.location_code}"))
    pdf.ln(2)
    to = order.ship_to
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(
        0, 6, _latin1(f"TO: {to.name}\n{to.line1}\n{to.postal_code} {to.city}\n{to.country}")
    )
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(
        0,
        6,
        _latin1(f"Order {order.order_number}  -  {f.units} units"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    barcode = f"*{f.shipment.tracking_number.upper()}*"
    pdf.code39(barcode, x=6, y=pdf.get_y() + 4, w=0.2, h=22)
    pdf.set_y(pdf.get_y() + 30)
    pdf.set_font("Courier", "B", 12)
    pdf.cell(0, 6, f.shipment.tracking_number, new_x="LMARGIN", new_y="NEXT", align="C")
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    """The core PDF fonts speak Latin-1; anything else is shown as '?' rather than failing."""
    return text.encode("latin-1", "replace").decode("latin-1")
