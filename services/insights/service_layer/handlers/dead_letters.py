"""Re-driving a dead letter: its record back on the topic it came from, then marked.

The record is produced, and the broker's acknowledgement awaited, while the dead letter's row
is locked in the unit of work; only then is it marked redriven and committed. A broker that
does not take it answers BrokerUnavailable and nothing is marked (the transaction rolls back,
the Idempotency-Key with it). A commit that fails after the send leaves it pending although
it was sent: a retry sends it again, which every consumer absorbs (its inbox, by event id)."""

from __future__ import annotations

from functools import partial
from typing import Protocol
from uuid import UUID

from libs.bus.message_bus import Handler
from services.insights.domain import commands
from services.insights.domain.dead_letters import DeadLetter
from services.insights.domain.errors import DeadLetterNotFound
from services.insights.service_layer.unit_of_work import UnitOfWork

SCOPE_REDRIVE = "redrive-dead-letter"
OK = 200


class Redriver(Protocol):
    async def redrive(self, letter: DeadLetter) -> None:
        """The letter's record on its original topic, acknowledged by the broker; raises
        BrokerUnavailable when the broker does not take it within a bounded time."""


async def redrive(cmd: commands.RedriveDeadLetter, uow: UnitOfWork, redriver: Redriver) -> UUID:
    """The dead letter's id, once its record is back on its topic (or was, for a repeated
    Idempotency-Key: nothing is sent again)."""
    prior = await uow.idempotency.replayed(
        scope=SCOPE_REDRIVE, key=cmd.idempotency_key, fingerprint=str(cmd.dead_letter_id)
    )
    if prior is not None:
        return cmd.dead_letter_id
    letter = await uow.dead_letters.get_for_update(cmd.dead_letter_id)
    if letter is None:
        raise DeadLetterNotFound(f"no dead letter {cmd.dead_letter_id}")
    await redriver.redrive(letter)
    await uow.dead_letters.mark_redriven(letter.id, uow.clock.now())
    await uow.idempotency.complete(resource_id=str(letter.id), status=OK)
    return letter.id


def dead_letter_handlers(redriver: Redriver) -> dict[type, Handler]:
    return {commands.RedriveDeadLetter: partial(redrive, redriver=redriver)}
