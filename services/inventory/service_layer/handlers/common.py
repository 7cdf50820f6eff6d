"""Steps several inventory use cases share."""

from __future__ import annotations

from libs.db.idempotency import StoredOutcome
from services.inventory.domain.commands import Idempotent
from services.inventory.domain.errors import LocationNotFound
from services.inventory.domain.locations import Location
from services.inventory.service_layer.unit_of_work import UnitOfWork


async def replayed(
    uow: UnitOfWork, scope: str, cmd: Idempotent, *, expected: StoredOutcome | None = None
) -> str | None:
    """The resource id a request with this Idempotency-Key already produced, if it ran.
    `expected`: the outcome to store with the claim (see IdempotencyKeys.claim)."""
    prior = await uow.idempotency.replayed(
        scope=scope, key=cmd.idempotency_key, fingerprint=cmd.fingerprint, expected=expected
    )
    return prior.resource_id if prior is not None else None


async def existing_location(
    uow: UnitOfWork, code: str, *, within: frozenset[str] | None = None
) -> Location:
    """The location; 404 when there is none, or none `within` the caller's locations claim."""
    found = await uow.locations.get(code, within=within)
    if found is None:
        raise LocationNotFound(f"no location {code!r}")
    return found
