"""GET /v1/audit: who changed a resource, when, through which operation, announced by which
event. Every service serves its own audit log (libs.outbox.audit writes it); `admin` only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import Table, select

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.errors import Forbidden
from libs.http.auth import requires
from libs.http.deps import ReadSessionDep
from libs.http.pagination import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    InvalidCursor,
    Page,
    decode_cursor,
    encode_cursor,
)
from libs.http.problem_codes import ProblemCode
from libs.http.problems import problem_responses

RESOURCE_PATTERN = r"^[a-z_]+:[^\s]{1,200}$"


class NarrowedAuditReader(Forbidden):
    code = ProblemCode.AUDIT_NEEDS_UNNARROWED_TOKEN
    title = "The audit log spans every channel and location; a narrowed token cannot read it"


class AuditEntry(BaseModel):
    at: datetime
    actor: str = Field(
        description="The token's client id, or `system` for work the service did itself "
        "(a consumed event, a timer)",
        examples=["marketplace-connector"],
    )
    operation: str | None = Field(examples=["POST /v1/orders/0193.../cancel"])
    event_type: str = Field(examples=["oms.order.cancelled"])
    event_id: UUID
    resources: list[str] = Field(examples=[["order:0193b1f2-6c1d-7a3e-9c4b-2f1e0d9c8b7a"]])
    correlation_id: str | None = None
    causation_id: str | None = None


class AuditPage(Page[AuditEntry]):
    pass


def audit_router(table: Table) -> APIRouter:
    router = APIRouter(tags=["audit"])

    @router.get(
        "/audit",
        summary="Who changed a resource",
        responses=problem_responses(422, 503),
    )
    async def audit(
        session: ReadSessionDep,
        caller: Annotated[Principal, requires(Scope.ADMIN)],
        resource: Annotated[
            str,
            Query(
                pattern=RESOURCE_PATTERN,
                description="`<kind>:<id>`: order, fulfillment, return, reservation, refund, "
                "inbound, location or sku, e.g. `order:0193b1f2-...`",
                examples=["order:0193b1f2-6c1d-7a3e-9c4b-2f1e0d9c8b7a"],
            ),
        ],
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> AuditPage:
        """Every change announced about the resource, newest first: who (the token's client
        id), through which operation, and the event that announced it. The log spans every
        channel and location, so it needs an admin token narrowed to none (403 otherwise)."""
        if caller.channels is not None or caller.locations is not None:
            raise NarrowedAuditReader("the audit log needs a token without channels/locations")
        query = (
            select(table).where(table.c.resources.contains([resource])).order_by(table.c.seq.desc())
        )
        if cursor:
            (before,) = decode_cursor(cursor, arity=1)
            if not isinstance(before, int):
                raise InvalidCursor("The cursor does not fit this list")
            query = query.where(table.c.seq < before)
        rows = (await session.execute(query.limit(limit + 1))).all()
        page, more = rows[:limit], len(rows) > limit
        return AuditPage(
            items=[
                AuditEntry(
                    at=r.at,
                    actor=r.actor,
                    operation=r.operation,
                    event_type=r.event_type,
                    event_id=r.event_id,
                    resources=list(r.resources),
                    correlation_id=r.correlation_id,
                    causation_id=r.causation_id,
                )
                for r in page
            ],
            next_cursor=encode_cursor([page[-1].seq]) if more else None,
        )

    return router
