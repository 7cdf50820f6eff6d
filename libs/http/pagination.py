"""Opaque cursors for keyset pagination: `?limit=&cursor=` -> `{items, next_cursor}`."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from libs.errors import Unprocessable

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class InvalidCursor(Unprocessable):
    code = "invalid_cursor"
    title = "The cursor is not one this API issued"


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, examples=[None])


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except ValueError as exc:
        raise InvalidCursor("The cursor could not be decoded") from exc
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidCursor("The cursor does not fit this list")
    return values
