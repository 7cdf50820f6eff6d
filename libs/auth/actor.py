"""Who the current request acts for, so the audit log can say who changed what.

The HTTP edge opens an actor scope per request and the token check fills it in; the outbox
writer reads it when it writes the audit rows of the request's events. Work a service does on
its own (a consumed event, a job) has no actor and is recorded as the system's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

SYSTEM_ACTOR = "system"


@dataclass
class Actor:
    client_id: str = SYSTEM_ACTOR
    operation: str | None = None


_actor: ContextVar[Actor | None] = ContextVar("actor", default=None)


@contextmanager
def actor_scope() -> Iterator[Actor]:
    """A fresh, mutable actor for one request; the token check names the client in it."""
    actor = Actor()
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def current_actor() -> Actor:
    return _actor.get() or Actor()
