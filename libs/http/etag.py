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


# For a resource whose writes may name the version they are based on (optional_version):
# without it the write goes through; with a stale one it is 412.
OptionalIfMatchDep = Annotated[
    str | None,
    Header(alias="If-Match", description="The ETag (version) this change is based on"),
]


def etag_of(version: int) -> str:
    return f'"{version}"'


# An optional If-Match naming no version this API issued matches none: the write is 412.
NO_VERSION = -1


def _tag(header: str) -> str:
    return header.strip().removeprefix("W/").strip('"')


def optional_version(header: str | None) -> int | None:
    """The version an optional If-Match names; None when the client sent none."""
    if header is None:
        return None
    value = _tag(header)
    return int(value) if value.isdigit() else NO_VERSION


def version_from_if_match(header: str | None) -> int:
    if header is None:
        raise PreconditionRequired("send If-Match with the ETag from your last GET")
    value = _tag(header)
    if not value.isdigit():
        raise PreconditionFailed(f"If-Match {header!r} is not an ETag this API issued")
    return int(value)
