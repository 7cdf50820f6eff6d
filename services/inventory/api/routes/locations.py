"""Locations: the places that hold stock."""

from __future__ import annotations

from fastapi import APIRouter, Response

from libs.auth.scopes import Scope
from libs.clock import SystemClock
from libs.http.auth import requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep, fingerprint
from libs.http.etag import IfMatchDep, etag_of, version_from_if_match
from libs.http.pagination import DEFAULT_LIMIT
from libs.http.problems import problem_responses
from services.inventory.adapters import queries
from services.inventory.api.routes.common import Limit, LocationCodePath
from services.inventory.api.schemas.locations import (
    LocationCreate,
    LocationPage,
    LocationPatch,
    LocationRead,
)
from services.inventory.domain import commands
from services.inventory.domain.errors import LocationNotFound
from services.inventory.domain.locations import LocationType

router = APIRouter(tags=["locations"])


async def _render(session: ReadSessionDep, code: str, response: Response) -> LocationRead:
    found = await queries.get_location(session, code)
    if found is None:
        raise LocationNotFound(f"no location {code!r}")
    response.headers["ETag"] = etag_of(found.version)
    return LocationRead.model_validate(found, from_attributes=True)


@router.post(
    "/locations",
    status_code=201,
    summary="Create a location",
    responses=problem_responses(409, 413, 422, 503),
    dependencies=[requires(Scope.ADMIN)],
)
async def create(
    body: LocationCreate,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> LocationRead:
    """A warehouse, store, drop-shipper or 3PL, with what it can do; 409 if the code exists."""
    code = await bus.handle(
        commands.CreateLocation(
            location=body.to_domain(SystemClock().now()),
            idempotency_key=idempotency_key,
            fingerprint=fingerprint(body.model_dump(mode="json")),
        )
    )
    response.headers["Location"] = f"/v1/locations/{code}"
    return await _render(session, code, response)


@router.get(
    "/locations",
    summary="List locations",
    responses=problem_responses(422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def list_(
    session: ReadSessionDep,
    type: LocationType | None = None,
    country: str | None = None,
    active: bool | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> LocationPage:
    """Locations by code, cursor-paginated; filter by type, country or active."""
    found = await queries.list_locations(
        session,
        limit=limit,
        cursor=cursor,
        type=type.value if type else None,
        country=country,
        active=active,
    )
    return LocationPage.model_validate(found, from_attributes=True)


@router.get(
    "/locations/{code}",
    summary="Get a location",
    responses=problem_responses(404, 422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def get(code: LocationCodePath, response: Response, session: ReadSessionDep) -> LocationRead:
    """The location; its ETag is the version a PATCH must name in If-Match."""
    return await _render(session, code, response)


@router.patch(
    "/locations/{code}",
    summary="Change a location",
    responses=problem_responses(404, 412, 413, 422, 428, 503),
    dependencies=[requires(Scope.ADMIN)],
)
async def update(
    code: LocationCodePath,
    body: LocationPatch,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    if_match: IfMatchDep = None,
) -> LocationRead:
    """Change the fields sent (e.g. `active: false` takes it out of routing and ATP). Needs
    If-Match with the current ETag: 412 if it changed since, 428 without it."""
    await bus.handle(
        commands.UpdateLocation(
            code=code, changes=body.changes(), expected_version=version_from_if_match(if_match)
        )
    )
    return await _render(session, code, response)
