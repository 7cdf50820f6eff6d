"""Parcel labels as PDF (fpdf2): a 4x6 inch label with a title (the carrier and service),
ship-from and ship-to, reference lines, and the tracking number as text and as a Code 39
barcode. Generic: shipping labels and return labels fill in the same `LabelContent`."""

from __future__ import annotations

from dataclasses import dataclass

INCH_MM = 25.4


@dataclass(frozen=True, slots=True)
class LabelContent:
    """What a label shows. `title` defaults to "CARRIER service"; `from_lines` and
    `to_lines` are address lines; `reference_lines` are printed above the barcode."""

    carrier: str
    tracking_number: str
    from_lines: tuple[str, ...]
    to_lines: tuple[str, ...]
    service: str | None = None
    title: str | None = None
    reference_lines: tuple[str, ...] = ()


def render_label(content: LabelContent, *, compress: bool = True) -> bytes:
    """The label as PDF bytes. `compress=False` leaves the page streams readable (tests)."""
    # Imported on the first label, not at start-up: fpdf2 and what it pulls in (Pillow,
    # fontTools) add 40 MB to every process that could print one, most of which never do
    # (the benchmark's memory target is 150 MB a service).
    from fpdf import FPDF

    pdf = FPDF(unit="mm", format=(4 * INCH_MM, 6 * INCH_MM))
    pdf.set_compression(compress)
    pdf.set_auto_page_break(False)
    pdf.set_title(f"Label {content.tracking_number}")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    title = content.title or f"{content.carrier.upper()} {content.service or ''}"
    pdf.cell(0, 10, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 5, _latin1(_prefixed("FROM: ", content.from_lines)))
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 6, _latin1(_prefixed("TO: ", content.to_lines)))
    pdf.ln(2)
    pdf.set_font("Helvetica", "", 10)
    for line in content.reference_lines:
        pdf.cell(0, 6, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    barcode = f"*{content.tracking_number.upper()}*"
    pdf.code39(barcode, x=6, y=pdf.get_y() + 4, w=0.2, h=22)
    pdf.set_y(pdf.get_y() + 30)
    pdf.set_font("Courier", "B", 12)
    pdf.cell(0, 6, _latin1(content.tracking_number), new_x="LMARGIN", new_y="NEXT", align="C")
    return bytes(pdf.output())


def _prefixed(prefix: str, lines: tuple[str, ...]) -> str:
    return prefix + "\n".join(lines)


def _latin1(text: str) -> str:
    """The core PDF fonts speak Latin-1; anything else is shown as '?' rather than failing."""
    return text.encode("latin-1", "replace").decode("latin-1")
