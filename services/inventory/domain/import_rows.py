"""The rows of a bulk stock import, read and checked one line at a time.

A row means what `PUT /v1/locations/{code}/stock/{sku}` means: the counted on-hand quantity
(and, if given, the safety stock) of one SKU at one location. The reader is fed the upload
in chunks as it arrives and keeps only the current line and the keys seen so far, so a
100,000-row file is never held in memory. Line numbers are the file's physical lines,
1-based (a CSV's header is line 1), so a person can find a reported row in an editor.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_ROWS = 100_000
MAX_COUNT = 100_000_000
# A row needs well under 300 bytes; a longer line is refused, so a file without line breaks
# cannot make the reader buffer the whole body.
MAX_LINE_BYTES = 4096
COLUMNS = ("location_code", "sku", "on_hand", "safety_stock")
REQUIRED = frozenset(COLUMNS[:3])
_CODE = re.compile(r"^[A-Za-z0-9._\-/]{1,64}$")
_WHOLE_NUMBER = re.compile(r"^-?[0-9]{1,12}$")
_BOM = "\ufeff"


class ImportFormat(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"


@dataclass(frozen=True, slots=True)
class StagedRow:
    line_number: int
    location_code: str
    sku: str
    on_hand: int
    safety_stock: int | None

    @property
    def key(self) -> tuple[str, str]:
        return (self.location_code, self.sku)


@dataclass(frozen=True, slots=True)
class RowError:
    line_number: int
    message: str


Item = StagedRow | RowError


class RowReader:
    """Turns the upload's bytes, chunk by chunk, into staged rows and row errors."""

    def __init__(self, fmt: ImportFormat) -> None:
        self._format = fmt
        self._buffer = bytearray()
        self._line_number = 0
        self._skipping_long_line = False
        self._header: list[str] | None = None
        self._first_line_of: dict[tuple[str, str], int] = {}
        self.data_rows = 0
        # Set when the file cannot be read at all (a bad CSV header): no row would parse.
        self.fatal: str | None = None

    def feed(self, chunk: bytes) -> list[Item]:
        items: list[Item] = []
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            self._append(chunk[start:end], items)
            self._end_line(items)
            start = end + 1
        self._append(chunk[start:], items)
        return items

    def finish(self) -> list[Item]:
        items: list[Item] = []
        if self._buffer or self._skipping_long_line:
            self._end_line(items)
        return items

    def _append(self, part: bytes, items: list[Item]) -> None:
        if self._skipping_long_line or not part:
            return
        self._buffer += part
        if len(self._buffer) > MAX_LINE_BYTES:
            self._buffer.clear()
            self._skipping_long_line = True

    def _end_line(self, items: list[Item]) -> None:
        self._line_number += 1
        raw, skipped = bytes(self._buffer), self._skipping_long_line
        self._buffer.clear()
        self._skipping_long_line = False
        if self.fatal is not None:
            return
        if skipped:
            self._count(items, RowError(self._line_number, f"longer than {MAX_LINE_BYTES} bytes"))
            return
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            self._count(items, RowError(self._line_number, "not valid UTF-8"))
            return
        if self._line_number == 1:
            line = line.removeprefix(_BOM)
            if self._format is ImportFormat.CSV:
                self._read_header(line, items)
                return
        if line.strip():
            self._count(items, self._row(line))

    def _count(self, items: list[Item], item: Item) -> None:
        self.data_rows += 1
        items.append(item)

    def _read_header(self, line: str, items: list[Item]) -> None:
        problem: str | None
        try:
            names = [n.strip().lower() for n in next(csv.reader([line], strict=True), [])]
        except csv.Error as exc:
            names, problem = [], f"the header is not valid CSV ({exc})"
        else:
            problem = _header_problem(names)
        if problem:
            self.fatal = problem
            items.append(RowError(1, problem))
        self._header = names

    def _row(self, line: str) -> Item:
        fields = self._csv_fields(line) if self._format is ImportFormat.CSV else _json_fields(line)
        if isinstance(fields, str):
            return RowError(self._line_number, fields)
        checked = validate(fields, line_number=self._line_number)
        if isinstance(checked, RowError):
            return checked
        first = self._first_line_of.setdefault(checked.key, checked.line_number)
        if first != checked.line_number:
            return RowError(
                checked.line_number,
                f"duplicate of line {first}: {checked.location_code}/{checked.sku} appears twice",
            )
        return checked

    def _csv_fields(self, line: str) -> dict[str, Any] | str:
        assert self._header is not None
        try:
            values = next(csv.reader([line], strict=True))
        except csv.Error as exc:
            return f"not valid CSV ({exc})"
        if len(values) != len(self._header):
            return f"{len(values)} fields, but the header names {len(self._header)}"
        return {
            name: (value.strip() or None) if name == "safety_stock" else value.strip()
            for name, value in zip(self._header, values, strict=True)
        }


def _header_problem(names: list[str]) -> str | None:
    missing = sorted(REQUIRED - set(names))
    unknown = sorted(set(names) - set(COLUMNS))
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if missing or unknown or duplicated:
        parts = [
            f"{label}: {', '.join(found)}"
            for label, found in (
                ("missing column(s)", missing),
                ("unknown column(s)", unknown),
                ("repeated column(s)", duplicated),
            )
            if found
        ]
        return f"the header must name {', '.join(COLUMNS)} (the last is optional); " + "; ".join(
            parts
        )
    return None


def _json_fields(line: str) -> dict[str, Any] | str:
    try:
        value = json.loads(line)
    except ValueError as exc:
        return f"not valid JSON ({exc})"
    if not isinstance(value, dict):
        return "a line must hold one JSON object"
    return value


def validate(fields: dict[str, Any], *, line_number: int) -> StagedRow | RowError:
    """One row's fields (strings from CSV, JSON values from NDJSON), checked."""
    missing = sorted(n for n in REQUIRED if fields.get(n) in (None, ""))
    unknown = sorted(set(fields) - set(COLUMNS))
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown field(s) {', '.join(unknown)}")
    for name in ("location_code", "sku"):
        if name not in missing and not _is_code(fields[name]):
            problems.append(f"{name} must be 1-64 characters of letters, digits and . _ - /")
    counts: dict[str, int | None] = {}
    for name in ("on_hand", "safety_stock"):
        counts[name], problem = _count(name, fields.get(name))
        if problem and name not in missing:
            problems.append(problem)
    if problems:
        return RowError(line_number, "; ".join(problems))
    on_hand = counts["on_hand"]
    assert on_hand is not None
    return StagedRow(
        line_number, fields["location_code"], fields["sku"], on_hand, counts["safety_stock"]
    )


def _is_code(value: Any) -> bool:
    return isinstance(value, str) and _CODE.match(value) is not None


def _count(name: str, value: Any) -> tuple[int | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, str) and _WHOLE_NUMBER.match(value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        return None, f"{name} must be a whole number"
    if value < 0:
        return None, f"{name} must not be negative"
    if value > MAX_COUNT:
        return None, f"{name} must be at most {MAX_COUNT}"
    return value, None
