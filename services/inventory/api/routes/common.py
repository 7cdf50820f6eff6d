"""Query and path parameter types the inventory routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from libs.http.pagination import MAX_LIMIT

CODE_PATTERN = r"^[A-Za-z0-9._\-/]+$"

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
LocationCodePath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["WH-BER"])
]
SkuPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["LAMP-001"])
]
