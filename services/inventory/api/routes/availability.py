"""Available-to-promise, and the self-check of every counter."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from libs.auth.scopes import Scope
from libs.clock import SystemClock
from libs.http.auth import requires
from libs.http.deps import ReadSessionDep
from libs.http.fields import Country
from libs.http.problems import problem_responses
from services.inventory.adapters import invariant_queries, queries
from services.inventory.api.schemas.availability import (
    AvailabilityCompactRead,
    AvailabilityRead,
    AvailabilityRequest,
    InvariantsRead,
)
from services.inventory.domain.locations import LocationType

router = APIRouter(tags=["availability"])
checks = APIRouter(tags=["invariants"])

MAX_QUERY_SKUS = 100


SkusQuery = Annotated[
    str,
    Query(
        min_length=1,
        # 5,000 characters stay under the HTTP server's 64 KiB request line even when
        # every one is percent-encoded UTF-8; POST /availability takes more.
        max_length=5000,
        pattern=r"^[A-Za-z0-9._\-/, ]+$",
        description="Comma-separated SKUs, at most 100 and 5,000 characters",
    ),
]


def _from_query(
    skus: str, country: str | None, location_type: LocationType | None
) -> AvailabilityRequest:
    try:
        return AvailabilityRequest(
            skus=[s.strip() for s in skus.split(",") if s.strip()][: MAX_QUERY_SKUS + 1],
            country=country,
            location_type=location_type,
        )
    except ValidationError as invalid:
        # The query's SKUs are checked here, one by one: a client error, answered as one.
        raise RequestValidationError(invalid.errors()) from invalid


@router.get(
    "/availability",
    summary="Available-to-promise of a few SKUs",
    response_model=AvailabilityRead,
    responses=problem_responses(422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def get(
    session: ReadSessionDep,
    skus: SkusQuery,
    country: Country | None = None,
    location_type: LocationType | None = None,
) -> Response:
    """Per SKU: the network's available total, each location's available units and the
    incoming deliveries with their dates. POST /availability takes up to 1,000 SKUs;
    GET /availability/compact gives the same answer in a fraction of the bytes."""
    return await _answer(session, _from_query(skus, country, location_type))


@router.post(
    "/availability",
    summary="Available-to-promise of many SKUs",
    response_model=AvailabilityRead,
    responses=problem_responses(413, 422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def query(body: AvailabilityRequest, session: ReadSessionDep) -> Response:
    """The same answer as GET /availability, for up to 1,000 SKUs in one request."""
    return await _answer(session, body)


@router.get(
    "/availability/compact",
    summary="Available-to-promise of a few SKUs, compact",
    response_model=AvailabilityCompactRead,
    responses=problem_responses(422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def get_compact(
    session: ReadSessionDep,
    skus: SkusQuery,
    country: Country | None = None,
    location_type: LocationType | None = None,
) -> Response:
    """What GET /availability answers, for machines: the matching locations listed once, and
    per SKU its locations as indexes into that list with their available units (two arrays)
    instead of an object per location. On hand, reserved, type and country are left out
    (GET /locations has the last two). For 50 SKUs held at 100 locations: ~55 KB, not
    ~690 KB."""
    return await _answer(session, _from_query(skus, country, location_type), compact=True)


@router.post(
    "/availability/compact",
    summary="Available-to-promise of many SKUs, compact",
    response_model=AvailabilityCompactRead,
    responses=problem_responses(413, 422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def query_compact(body: AvailabilityRequest, session: ReadSessionDep) -> Response:
    """The same answer as GET /availability/compact, for up to 1,000 SKUs in one request."""
    return await _answer(session, body, compact=True)


async def _answer(
    session: ReadSessionDep, request: AvailabilityRequest, *, compact: bool = False
) -> Response:
    """Written straight as JSON (mostly by PostgreSQL) in the shape of the declared response
    model: validating thousands of location entries of our own on the way out would only
    cost time."""
    write = queries.availability_compact_json if compact else queries.availability_json
    body = await write(
        session,
        request.skus,
        country=request.country,
        location_type=request.location_type.value if request.location_type else None,
    )
    return Response(body, media_type="application/json")


@checks.get(
    "/invariants",
    summary="Check every stock counter against the ledger",
    responses=problem_responses(503),
    dependencies=[requires(Scope.ADMIN)],
)
async def invariants(session: ReadSessionDep) -> InvariantsRead:
    """Each on-hand and reserved counter must equal the sum of its ledger rows, reserved must
    equal the open reservation lines, and nothing may be negative; any drift is listed."""
    found = await invariant_queries.invariants(session, SystemClock().now())
    return InvariantsRead.model_validate(found, from_attributes=True)
