"""Dead letters: list them, read one, re-drive one (`admin`, with a token narrowed to no
channel or location: a dead letter is any channel's and any location's record)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep
from libs.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from libs.http.problems import problem_responses
from services.insights.adapters import dead_letters as queries
from services.insights.api.schemas.dead_letters import (
    DeadLetterDetailRead,
    DeadLetterPage,
    DeadLetterRead,
)
from services.insights.domain import commands
from services.insights.domain.dead_letters import DeadLetterStatus
from services.insights.domain.errors import DeadLetterNotFound, DeadLettersNeedUnnarrowedToken

router = APIRouter(tags=["dead-letters"])
Admin = Annotated[Principal, requires(Scope.ADMIN)]
PATH = "/dead-letters"


def _unnarrowed(caller: Principal) -> None:
    if caller.channels is not None or caller.locations is not None:
        raise DeadLettersNeedUnnarrowedToken("dead letters need a token without channels/locations")


@router.get(PATH, summary="List dead letters", responses=problem_responses(403, 422, 503))
async def list_dead_letters(
    session: ReadSessionDep,
    caller: Admin,
    status: DeadLetterStatus | None = None,
    topic: Annotated[
        str | None,
        Query(
            max_length=200,
            description="The topic the records had failed on",
            examples=["oms.order.events"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> DeadLetterPage:
    """The records the services' consumers gave up on (after their retries), newest first:
    which topic and consumer, the consumer's error, the event's id and type. The payment
    tokens' topic's are not among them: only orchestration may read those records. 403
    `dead_letters_need_unnarrowed_token` for a token narrowed to channels or locations."""
    _unnarrowed(caller)
    items, next_cursor = await queries.list_dead_letters(
        session,
        status=status.value if status else None,
        topic=topic,
        limit=limit,
        cursor=cursor,
    )
    return DeadLetterPage(
        items=[DeadLetterRead(**vars(item)) for item in items], next_cursor=next_cursor
    )


@router.get(
    PATH + "/{dead_letter_id}",
    summary="Read a dead letter",
    responses=problem_responses(403, 404, 422, 503),
)
async def get_dead_letter(
    dead_letter_id: UUID, session: ReadSessionDep, caller: Admin
) -> DeadLetterDetailRead:
    """The dead letter with its record: the value as JSON when it is (`value`), else in
    base64 (`value_base64`), and the original headers. 404 `dead_letter_not_found`."""
    _unnarrowed(caller)
    return await _read(session, dead_letter_id)


@router.post(
    PATH + "/{dead_letter_id}/redrive",
    summary="Re-drive a dead letter",
    responses=problem_responses(403, 404, 409, 422, 503),
)
async def redrive(
    dead_letter_id: UUID,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Admin,
    idempotency_key: IdempotencyKeyDep = None,
) -> DeadLetterDetailRead:
    """Puts the record back on the topic it had failed on, as it was (its key, value and
    headers, plus `redriven-from: <dead-letter topic>:<partition>:<offset>`), waits for the
    broker's acknowledgement, then marks the dead letter `redriven`. Every consumer of that
    topic gets it again; those that had handled it skip it (their inbox, by event id), so a
    record re-driven twice changes nothing twice. A record that fails again is dead-lettered
    again, as a new dead letter. 503 `broker_unavailable` (with Retry-After) when the broker
    does not take it within a few seconds: nothing is marked. 404 `dead_letter_not_found`."""
    _unnarrowed(caller)
    await bus.handle(
        commands.RedriveDeadLetter(dead_letter_id=dead_letter_id, idempotency_key=idempotency_key)
    )
    return await _read(session, dead_letter_id)


async def _read(session: ReadSessionDep, dead_letter_id: UUID) -> DeadLetterDetailRead:
    found = await queries.get_dead_letter(session, dead_letter_id)
    if found is None:
        raise DeadLetterNotFound(f"no dead letter {dead_letter_id}")
    return DeadLetterDetailRead(**vars(found))
