"""FastAPI dependencies every service uses: bus, read session, Idempotency-Key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from libs.bus.message_bus import MessageBus
from libs.runtime import ServiceContainer


def get_container(request: Request) -> ServiceContainer:
    container: ServiceContainer = request.app.state.container
    return container


async def get_bus(request: Request) -> MessageBus:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop (and
    # several % of a service's CPU under load) per request for one attribute read.
    return get_container(request).bus


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_container(request).session_factory() as session:
        yield session


BusDep = Annotated[MessageBus, Depends(get_bus)]
ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session)]
IdempotencyKeyDep = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Repeat a creating request safely: the same key and body return the first "
        "response; the same key with another body is 409 idempotency_key_reused. Kept 24 h.",
        examples=["5f0c6a1e-7d1b-4c5e-9a57-1f2b3c4d5e6f"],
    ),
]


def fingerprint(payload: Any) -> str:
    """Stable hash of a request body, to tell a retry from a different request under one key."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
