"""The console's vendored JavaScript is exactly what tools/vendor_js.py took from the npm lock.

Offline: the files under services/insights/api/console/static/vendor/ must match the SHA256SUMS
the tool wrote, its README must name the lock's versions, and package.json must pin exactly the
locked version. A file edited by hand, or a lock bumped without `python -m tools.vendor_js`, fails.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tools import vendor_js


def test_the_vendored_files_are_the_ones_the_lock_pins() -> None:
    assert vendor_js.problems() == []


def test_the_checksums_cover_the_chart_library_and_its_license() -> None:
    listed: dict[str, str] = {}
    for line in (vendor_js.VENDOR / vendor_js.CHECKSUMS).read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    assert set(listed) == {"chart.umd.min.js", "LICENSE-chart.js.txt"}
    for name, digest in listed.items():
        assert hashlib.sha256((vendor_js.VENDOR / name).read_bytes()).hexdigest() == digest


def test_the_chart_library_is_the_pinned_chart_js_4() -> None:
    version = vendor_js.locked("chart.js").version
    assert version.startswith("4.")
    assert vendor_js.pinned_versions()["chart.js"] == version
    header = (vendor_js.VENDOR / "chart.umd.min.js").read_text(encoding="utf-8")[:200]
    # The build's own license header names the version it is.
    assert f"Chart.js v{version}" in header and "MIT License" in header


def test_an_edited_file_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "vendor"
    copy.mkdir()
    for path in vendor_js.VENDOR.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    with (copy / "chart.umd.min.js").open("a") as edited:
        edited.write("\n// a hand edit\n")
    monkeypatch.setattr(vendor_js, "VENDOR", copy)
    assert vendor_js.problems() == [
        "chart.umd.min.js is not the vendored file (its sha256 differs from SHA256SUMS)"
    ]


def test_the_integrity_check_rejects_another_tarball() -> None:
    integrity = vendor_js.locked("chart.js").integrity
    with pytest.raises(SystemExit, match="integrity"):
        vendor_js.verify_integrity(b"not the tarball", integrity)
