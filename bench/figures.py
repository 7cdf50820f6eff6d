"""Reading one `make bench`'s results and writing its figures, for the targets and the report.

The results are one JSON-able dict (bench/__main__.py assembles it); any part may be missing,
null or of another type, and then reads as "not measured" instead of failing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from libs import registry

NOT_MEASURED = "not measured in this run"
# The sign of "0.33 times the ceiling", by name: ruff (RUF001) flags the character itself.
TIMES = "\N{MULTIPLICATION SIGN}"
SERVICES = registry.names()
SERVICES_SUM = "services"  # bench.cpu's name for the sum over the services

Results = Mapping[str, Any]


def lookup(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return None
        data = data[key]
    return data


def number_at(data: Any, *path: str) -> float | None:
    value = lookup(data, *path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def ceiling_tps(results: Results) -> float | None:
    tps = number_at(results, "ceiling", "tps")
    return tps if tps is not None and tps > 0 else None


def points_of(results: Results, section: str) -> list[Mapping[str, Any]]:
    points = lookup(results, section, "points")
    if not isinstance(points, Sequence) or isinstance(points, str):
        return []
    return [point for point in points if isinstance(point, Mapping)]


def point_labelled(results: Results, section: str, label: str) -> Mapping[str, Any] | None:
    return next((p for p in points_of(results, section) if p.get("label") == label), None)


# --- formatting --------------------------------------------------------------------------------


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.1f}"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} ms" if abs(value) >= 100 else f"{value:.1f} ms"


def fmt_count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def fmt_seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}{TIMES}"


def fmt_rate(value: float | None, ceiling: float | None, unit: str = "/s") -> str:
    """A throughput and its share of the ceiling when there is one: '900/s (0.33x ceiling)'."""
    if value is None:
        return "—"
    if ceiling is None:
        return f"{fmt(value)}{unit}"
    return f"{fmt(value)}{unit} ({value / ceiling:.2f}{TIMES} ceiling)"


def share_of(value: float | None, ceiling: float | None) -> float | None:
    return None if value is None or ceiling is None else value / ceiling


def fmt_when(date: Any) -> str:
    if not isinstance(date, str) or not date:
        return "an unrecorded date"
    try:
        parsed = datetime.fromisoformat(date)
    except ValueError:
        return date
    offset = parsed.utcoffset()
    if offset is None:
        return parsed.strftime("%Y-%m-%d %H:%M")
    return parsed.strftime("%Y-%m-%d %H:%M UTC" if not offset else "%Y-%m-%d %H:%M %z")


def cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines
