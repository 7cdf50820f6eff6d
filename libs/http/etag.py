"""ETags are resource versions: `ETag: "7"` out, `If-Match: "7"` in."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header

from libs.errors import PreconditionFailed, PreconditionRequired

IfMatchDep = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The ETag of the version being edited, e.g. "3"; required',
        examples=['"3"'],
    ),
]


def etag_of(version: int) -> str:
    return f'"{version}"'


def version_from_if_match(header: str | None) -> int:
    if header is None:
        raise PreconditionRequired("send If-Match with the ETag from your last GET")
    value = header.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise PreconditionFailed(f"If-Match {header!r} is not an ETag this API issued")
    return int(value)
