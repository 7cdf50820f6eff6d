"""Reading an import file: rows, their line numbers, and what makes a row bad."""

from __future__ import annotations

import pytest

from services.inventory.domain.errors import UnsupportedImportFormat
from services.inventory.domain.import_rows import (
    MAX_LINE_BYTES,
    ImportFormat,
    Item,
    RowError,
    RowReader,
    StagedRow,
)
from services.inventory.domain.imports import (
    ImportMode,
    ImportStatus,
    format_of,
    upload_outcome,
)


def read(fmt: ImportFormat, text: str, *, chunk: int = 7) -> tuple[list[Item], RowReader]:
    """Feed the file in small chunks, as a network would deliver it."""
    reader = RowReader(fmt)
    data = text.encode()
    items: list[Item] = []
    for start in range(0, len(data), chunk):
        items += reader.feed(data[start : start + chunk])
    return items + reader.finish(), reader


def errors(items: list[Item]) -> dict[int, str]:
    return {i.line_number: i.message for i in items if isinstance(i, RowError)}


def rows(items: list[Item]) -> list[StagedRow]:
    return [i for i in items if isinstance(i, StagedRow)]


class TestCsv:
    def test_rows_carry_their_physical_line_numbers(self) -> None:
        items, reader = read(
            ImportFormat.CSV,
            "location_code,sku,on_hand,safety_stock\r\nWH-1,A,5,1\r\n\r\nWH-1,B,0,\r\n",
        )
        assert rows(items) == [StagedRow(2, "WH-1", "A", 5, 1), StagedRow(4, "WH-1", "B", 0, None)]
        assert reader.data_rows == 2

    def test_columns_may_come_in_any_order_and_safety_stock_is_optional(self) -> None:
        items, _ = read(ImportFormat.CSV, "ON_HAND, sku ,location_code\n7,A,WH-1")
        assert rows(items) == [StagedRow(2, "WH-1", "A", 7, None)]

    def test_a_byte_order_mark_is_ignored(self) -> None:
        items, _ = read(ImportFormat.CSV, "\ufefflocation_code,sku,on_hand\nWH-1,A,1\n")
        assert rows(items) == [StagedRow(2, "WH-1", "A", 1, None)]

    @pytest.mark.parametrize(
        ("line", "message"),
        [
            ("WH-1,A,-1", "on_hand must not be negative"),
            ("WH-1,A,1.5", "on_hand must be a whole number"),
            ("WH-1,A,abc", "on_hand must be a whole number"),
            ("WH-1,A,100000001", "on_hand must be at most 100000000"),
            ("WH-1,A,", "missing on_hand"),
            ("WH 1,A,1", "location_code must be 1-64 characters"),
            ("WH-1," + "S" * 65 + ",1", "sku must be 1-64 characters"),
            ("WH-1,A", "2 fields, but the header names 3"),
            ("WH-1,A,1,2", "4 fields, but the header names 3"),
            ('WH-1,"A,1', "not valid CSV"),
        ],
    )
    def test_a_bad_row_is_reported_with_its_line(self, line: str, message: str) -> None:
        items, _ = read(ImportFormat.CSV, f"location_code,sku,on_hand\nWH-1,OK,1\n{line}\n")
        assert len(rows(items)) == 1
        assert message in errors(items)[3]

    def test_a_later_duplicate_of_a_location_and_sku_is_the_bad_one(self) -> None:
        items, _ = read(
            ImportFormat.CSV, "location_code,sku,on_hand\nWH-1,A,1\nWH-2,A,1\nWH-1,A,2\n"
        )
        assert [r.line_number for r in rows(items)] == [2, 3]
        assert errors(items) == {4: "duplicate of line 2: WH-1/A appears twice"}

    @pytest.mark.parametrize(
        ("header", "problem"),
        [
            ("location_code,sku", "missing column(s): on_hand"),
            ("location_code,sku,on_hand,colour", "unknown column(s): colour"),
            ("location_code,sku,on_hand,sku", "repeated column(s): sku"),
            ("", "missing column(s): location_code, on_hand, sku"),
        ],
    )
    def test_a_bad_header_makes_the_file_unreadable(self, header: str, problem: str) -> None:
        items, reader = read(ImportFormat.CSV, f"{header}\nWH-1,A,1\n")
        assert reader.fatal is not None and problem in reader.fatal
        assert list(errors(items)) == [1]
        assert rows(items) == []

    def test_an_overlong_line_is_one_bad_row_not_a_buffered_one(self) -> None:
        long = "WH-1,A," + "9" * (MAX_LINE_BYTES + 10)
        items, _ = read(
            ImportFormat.CSV, f"location_code,sku,on_hand\n{long}\nWH-1,B,1\n", chunk=512
        )
        assert errors(items) == {2: f"longer than {MAX_LINE_BYTES} bytes"}
        assert rows(items) == [StagedRow(3, "WH-1", "B", 1, None)]

    def test_invalid_utf8_is_a_bad_row(self) -> None:
        reader = RowReader(ImportFormat.CSV)
        items = reader.feed(b"location_code,sku,on_hand\nWH-1,\xff,1\nWH-1,B,1") + reader.finish()
        assert errors(items) == {2: "not valid UTF-8"}
        assert len(rows(items)) == 1


class TestNdjson:
    def test_one_object_per_line(self) -> None:
        items, reader = read(
            ImportFormat.NDJSON,
            '{"location_code": "WH-1", "sku": "A", "on_hand": 3, "safety_stock": 1}\n'
            '{"location_code": "WH-1", "sku": "B", "on_hand": 0, "safety_stock": null}\n',
        )
        assert rows(items) == [StagedRow(1, "WH-1", "A", 3, 1), StagedRow(2, "WH-1", "B", 0, None)]
        assert reader.data_rows == 2

    @pytest.mark.parametrize(
        ("line", "message"),
        [
            ('{"location_code": "WH-1", "sku": "A"', "not valid JSON"),
            ('["WH-1", "A", 1]', "a line must hold one JSON object"),
            ('{"location_code": "WH-1", "sku": "A", "on_hand": 1.5}', "must be a whole number"),
            ('{"location_code": "WH-1", "sku": "A", "on_hand": true}', "must be a whole number"),
            ('{"location_code": "WH-1", "sku": 7, "on_hand": 1}', "sku must be 1-64 characters"),
            ('{"location_code": "WH-1", "on_hand": 1}', "missing sku"),
            ('{"location_code": "WH-1", "sku": "A", "on_hand": 1, "x": 1}', "unknown field(s) x"),
        ],
    )
    def test_a_bad_line_is_reported(self, line: str, message: str) -> None:
        items, _ = read(ImportFormat.NDJSON, line)
        assert message in errors(items)[1]


class TestUpload:
    @pytest.mark.parametrize(
        ("content_type", "fmt"),
        [
            ("text/csv", ImportFormat.CSV),
            ("text/csv; charset=utf-8", ImportFormat.CSV),
            ("application/x-ndjson", ImportFormat.NDJSON),
        ],
    )
    def test_the_content_type_names_the_format(self, content_type: str, fmt: ImportFormat) -> None:
        assert format_of(content_type) is fmt

    @pytest.mark.parametrize("content_type", [None, "application/json", "text/plain"])
    def test_other_content_types_are_refused(self, content_type: str | None) -> None:
        with pytest.raises(UnsupportedImportFormat):
            format_of(content_type)

    def test_all_or_nothing_with_a_bad_row_fails_at_once(self) -> None:
        status, reason = upload_outcome(ImportMode.ALL_OR_NOTHING, rows_received=3, rows_invalid=1)
        assert status is ImportStatus.FAILED and reason and "1 invalid" in reason

    def test_partial_with_bad_rows_is_queued(self) -> None:
        assert upload_outcome(ImportMode.PARTIAL, rows_received=3, rows_invalid=1) == (
            ImportStatus.QUEUED,
            None,
        )

    def test_an_empty_file_fails(self) -> None:
        assert upload_outcome(ImportMode.PARTIAL, rows_received=0, rows_invalid=0)[0] is (
            ImportStatus.FAILED
        )
