import subprocess
import sys
from pathlib import Path

import pytest

from libs.labels import LabelContent, render_label

ROOT = Path(__file__).resolve().parents[3]

CONTENT = LabelContent(
    carrier="dhl",
    service="express",
    tracking_number="JD0146000012345",
    from_lines=("WH-BER",),
    to_lines=("Ada Lovelace", "Hauptstr. 1", "10115 Berlin", "DE"),
    reference_lines=("Order OMS-1  -  2 units",),
)


class TestRenderLabel:
    def test_a_label_is_a_pdf(self) -> None:
        assert render_label(CONTENT).startswith(b"%PDF")

    def test_the_tracking_number_is_printed_on_the_label(self) -> None:
        pdf = render_label(CONTENT, compress=False)
        assert pdf.startswith(b"%PDF")
        assert b"JD0146000012345" in pdf

    def test_a_title_and_text_outside_latin1_do_not_fail(self) -> None:
        content = LabelContent(
            carrier="ups",
            tracking_number="1Z999",
            from_lines=("Łódź returns desk",),
            to_lines=("WH-BER",),
            title="RETURN",
        )
        pdf = render_label(content, compress=False)
        assert b"RETURN" in pdf and b"1Z999" in pdf


@pytest.mark.parametrize("service", ["orchestration", "returns"])
def test_a_service_starts_without_the_pdf_library(service: str) -> None:
    """fpdf2 and what it pulls in add 40 MB to a process; it loads on the first label."""
    probe = f"import sys, services.{service}.api.app; print('fpdf' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert found.stdout.strip() == "False"
