"""The return policy in force, and new versions of it."""

from __future__ import annotations

from fastapi import APIRouter, Response

from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import BusDep, ReadSessionDep
from libs.http.etag import IfMatchDep, etag_of, optional_version
from libs.http.problems import problem_responses
from services.returns.adapters.repository import PolicyStore
from services.returns.api.schemas.policy import PolicyBody, PolicyRead
from services.returns.domain import commands
from services.returns.domain.policy import ReturnPolicy

router = APIRouter(tags=["returns"])


async def _policy_read(session: ReadSessionDep, response: Response) -> PolicyRead:
    policy, created_at = await PolicyStore(session).current()
    response.headers["ETag"] = etag_of(policy.version)
    body = policy.to_dict()
    return PolicyRead(**body, version=policy.version, created_at=created_at)


@router.get(
    "/return-policy",
    summary="The return policy in force",
    responses=problem_responses(503),
    dependencies=[requires(Scope.ORDERS_READ)],
)
async def get_policy(session: ReadSessionDep, response: Response) -> PolicyRead:
    return await _policy_read(session, response)


@router.put(
    "/return-policy",
    summary="Put a new version of the return policy",
    responses=problem_responses(412, 422, 503),
    dependencies=[requires(Scope.ADMIN)],
)
async def put_policy(
    body: PolicyBody,
    bus: BusDep,
    session: ReadSessionDep,
    response: Response,
    if_match: IfMatchDep = None,
) -> PolicyRead:
    """Every PUT makes a new version; returns opened from then on are judged by it (and
    keep its version). With If-Match, a version that moved on meanwhile is 412."""
    policy = ReturnPolicy.from_dict(body.model_dump(mode="json"), version=0)
    await bus.handle(commands.PutPolicy(policy, optional_version(if_match)))
    return await _policy_read(session, response)
