"""A response model written straight to JSON bytes by pydantic.

FastAPI validates what an endpoint returns against its response model and then serialises it
(two passes over every field); an endpoint on the hot path builds its model once and returns
it through here. The route still declares `response_model=`, so the contract is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Response
from pydantic import BaseModel


def model_response(
    model: BaseModel, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        content=model.model_dump_json(by_alias=True),
        status_code=status_code,
        headers=dict(headers or {}),
        media_type="application/json",
    )
