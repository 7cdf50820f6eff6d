"""Rows as column arrays (libs.db.arrays): the statement text and the parameters."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import ARRAY, Column, Integer, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB

from libs.db.arrays import (
    JsonText,
    column_arrays,
    text_array,
    types_of,
    unnest_insert,
    unnest_update,
)

COLUMNS = {"id": "uuid", "body": "jsonb", "tags": "text[]", "n": "integer"}


def test_one_text_whatever_the_number_of_rows() -> None:
    statement = unnest_insert("thing", COLUMNS, suffix="ON CONFLICT DO NOTHING").text
    assert statement == (
        'INSERT INTO thing ("id", "body", "tags", "n") SELECT "id", "body"::jsonb, '
        '"tags"::text[], "n" FROM unnest(CAST(:id AS uuid[]), CAST(:body AS text[]), '
        'CAST(:tags AS text[]), CAST(:n AS integer[])) AS r("id", "body", "tags", "n") '
        "ON CONFLICT DO NOTHING"
    )
    assert unnest_update("thing", "id", COLUMNS).text.startswith(
        'UPDATE thing AS t SET "body" = r."body", "tags" = r."tags", "n" = r."n" FROM (SELECT'
    )


def test_parameters_are_one_list_per_column_json_as_text_arrays_as_literals() -> None:
    rows: list[dict[str, Any]] = [
        {"id": "a", "body": {"k": [1, 2]}, "tags": ["x", 'say "hi", \\o/'], "n": 1},
        {"id": "b", "body": None, "tags": [], "n": None},
    ]
    assert column_arrays(rows, COLUMNS) == {
        "id": ["a", "b"],
        "body": ['{"k":[1,2]}', "null"],
        "tags": ['{"x","say \\"hi\\", \\\\o/"}', "{}"],
        "n": [1, None],
    }
    assert text_array([]) == "{}"


def test_types_come_from_the_table_and_only_text_arrays_are_carried() -> None:
    table = Table(
        "thing",
        MetaData(),
        Column("n", Integer),
        Column("body", JSONB),
        Column("tags", ARRAY(Text)),
        Column("counts", ARRAY(Integer)),
    )
    assert types_of(table, ["n", "body", "tags"]) == {
        "n": "integer",
        "body": "jsonb",
        "tags": "text[]",
    }
    with pytest.raises(ValueError, match="only text arrays"):
        types_of(table, ["counts"])


def test_json_already_written_as_text_goes_as_it_is() -> None:
    rows: list[dict[str, Any]] = [{"body": JsonText('{"a":1}')}, {"body": '{"a":1}'}]
    # The second is a string value, written as a JSON string; the first is a document.
    assert column_arrays(rows, {"body": "jsonb"}) == {"body": ['{"a":1}', '"{\\"a\\":1}"']}
