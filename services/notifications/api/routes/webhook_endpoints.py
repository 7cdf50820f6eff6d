"""Webhook endpoints: create, list, read, change, delete, rotate the signing secret, the
deliveries made for one, a replay of them since a time, and a test ping.

A caller narrowed to channels sees and changes only the endpoints whose channel filter lies
within its channels (looked up narrowed in SQL); any other is answered like a missing one."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep, fingerprint
from libs.http.etag import OptionalIfMatchDep, etag_of, optional_version
from libs.http.pagination import DEFAULT_LIMIT, MAX_LIMIT
from libs.http.problems import problem_responses
from services.notifications.adapters import queries
from services.notifications.api.routes.deliveries import delivery_read
from services.notifications.api.schemas.webhook_endpoints import (
    DeliveryPage,
    DeliveryRead,
    DeliveryWithAttemptsRead,
    ReplayRead,
    SecretRead,
    SecretRotation,
    WebhookEndpointCreate,
    WebhookEndpointPage,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from services.notifications.domain import commands
from services.notifications.domain.endpoints import UNSET, EndpointChanges, WebhookEndpoint
from services.notifications.domain.errors import WebhookEndpointNotFound

router = APIRouter(tags=["webhook-endpoints"])

Reader = Annotated[Principal, requires(Scope.WEBHOOKS_READ)]
Writer = Annotated[Principal, requires(Scope.WEBHOOKS_WRITE)]
PATH = "/webhook-endpoints"


@router.post(
    PATH,
    status_code=201,
    summary="Create a webhook endpoint",
    responses=problem_responses(403, 409, 413, 422, 503),
)
async def create(
    body: WebhookEndpointCreate,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    idempotency_key: IdempotencyKeyDep = None,
) -> WebhookEndpointWithSecret:
    """The endpoint and its signing secret, shown in full only here (and when rotated):
    deliveries are signed with it as Standard Webhooks specifies. The same request again with
    its Idempotency-Key answers the same endpoint, with its current secret. 422 with the reason:
    `invalid_webhook_url`, `insecure_webhook_url` (http outside development),
    `private_webhook_target` (a loopback, private or link-local host), `unknown_event_type`,
    `invalid_webhook_secret`.
    A token narrowed to channels must name a channel filter within them (403
    `channel_not_allowed`)."""
    cmd = commands.CreateEndpoint(
        url=body.url,
        event_types=tuple(body.event_types),
        channels=frozenset(body.channels) if body.channels is not None else None,
        enabled=body.enabled,
        description=body.description,
        fingerprint=fingerprint(body.model_dump(mode="json")),
        allowed_channels=caller.channels,
        idempotency_key=idempotency_key,
        secret=body.secret,
    )
    endpoint_id: UUID = await bus.handle(cmd)
    endpoint = await _visible(session, endpoint_id, caller)
    response.headers["Location"] = f"/v1{PATH}/{endpoint_id}"
    response.headers["ETag"] = etag_of(endpoint.version)
    return WebhookEndpointWithSecret(
        **endpoint_read(endpoint).model_dump(), secret=endpoint.secret.value
    )


@router.get(PATH, summary="List webhook endpoints", responses=problem_responses(422, 503))
async def list_endpoints(
    session: ReadSessionDep,
    caller: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> WebhookEndpointPage:
    """Newest first; a token narrowed to channels lists the endpoints filtered to them."""
    page = await queries.list_endpoints(
        session, channels=caller.channels, limit=limit, cursor=cursor
    )
    return WebhookEndpointPage(
        items=[endpoint_read(e) for e in page.items], next_cursor=page.next_cursor
    )


@router.get(
    PATH + "/{endpoint_id}",
    summary="Read a webhook endpoint",
    responses=problem_responses(404, 422, 503),
)
async def get(
    endpoint_id: UUID, session: ReadSessionDep, caller: Reader, response: Response
) -> WebhookEndpointRead:
    endpoint = await _visible(session, endpoint_id, caller)
    response.headers["ETag"] = etag_of(endpoint.version)
    return endpoint_read(endpoint)


@router.patch(
    PATH + "/{endpoint_id}",
    summary="Change a webhook endpoint",
    responses=problem_responses(403, 404, 412, 422, 503),
)
async def update(
    endpoint_id: UUID,
    body: WebhookEndpointUpdate,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    response: Response,
    if_match: OptionalIfMatchDep = None,
) -> WebhookEndpointRead:
    """The fields sent change, checked as on create; with If-Match, a version that moved on
    meanwhile is 412."""
    given = body.model_fields_set
    changes = EndpointChanges(
        url=body.url if "url" in given and body.url is not None else UNSET,
        event_types=tuple(body.event_types)
        if "event_types" in given and body.event_types is not None
        else UNSET,
        channels=(frozenset(body.channels) if body.channels is not None else None)
        if "channels" in given
        else UNSET,
        enabled=body.enabled if "enabled" in given and body.enabled is not None else UNSET,
        description=body.description
        if "description" in given and body.description is not None
        else UNSET,
    )
    await bus.handle(
        commands.UpdateEndpoint(endpoint_id, changes, caller.channels, optional_version(if_match))
    )
    endpoint = await _visible(session, endpoint_id, caller)
    response.headers["ETag"] = etag_of(endpoint.version)
    return endpoint_read(endpoint)


@router.delete(
    PATH + "/{endpoint_id}",
    status_code=204,
    summary="Delete a webhook endpoint",
    responses=problem_responses(404, 422, 503),
)
async def delete(endpoint_id: UUID, bus: BusDep, caller: Writer) -> Response:
    """The endpoint and its deliveries, pending ones included: nothing more is sent to it."""
    await bus.handle(commands.DeleteEndpoint(endpoint_id, caller.channels))
    return Response(status_code=204)


@router.post(
    PATH + "/{endpoint_id}/rotate-secret",
    summary="Rotate a webhook endpoint's signing secret",
    responses=problem_responses(404, 422, 503),
)
async def rotate_secret(
    endpoint_id: UUID,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    response: Response,
    body: SecretRotation | None = None,
) -> WebhookEndpointWithSecret:
    """A new signing secret, shown in full only here. The one it replaces stays valid for
    the overlap (24 h unless `overlap_seconds` says otherwise), and deliveries meanwhile
    carry a signature with each, so a receiver can switch without losing one."""
    seconds = body.overlap_seconds if body is not None else None
    overlap = timedelta(seconds=seconds) if seconds is not None else None
    brought = body.secret if body is not None else None
    secret: str = await bus.handle(
        commands.RotateSecret(endpoint_id, overlap, caller.channels, brought)
    )
    endpoint = await _visible(session, endpoint_id, caller)
    response.headers["ETag"] = etag_of(endpoint.version)
    return WebhookEndpointWithSecret(**endpoint_read(endpoint).model_dump(), secret=secret)


@router.get(
    PATH + "/{endpoint_id}/deliveries",
    summary="List a webhook endpoint's deliveries",
    responses=problem_responses(404, 422, 503),
)
async def list_deliveries(
    endpoint_id: UUID,
    session: ReadSessionDep,
    caller: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> DeliveryPage:
    """Newest first: one per event that matched the endpoint, with its state."""
    await _visible(session, endpoint_id, caller)
    page = await queries.list_deliveries(session, endpoint_id, limit=limit, cursor=cursor)
    return DeliveryPage(
        items=[DeliveryRead(**vars(d)) for d in page.items], next_cursor=page.next_cursor
    )


@router.post(
    PATH + "/{endpoint_id}/replay",
    status_code=202,
    summary="Send a webhook endpoint's deliveries since a time again",
    responses=problem_responses(404, 409, 422, 503),
)
async def replay(
    endpoint_id: UUID,
    since: Annotated[
        str,
        Query(
            min_length=1,
            max_length=64,
            description="An RFC 3339 time with an offset: every delivery made at or after it "
            "is sent again (422 `invalid_replay_since` if it is not one, or lies in the "
            "future)",
            examples=["2026-12-05T10:00:00Z"],
        ),
    ],
    bus: BusDep,
    caller: Writer,
    idempotency_key: IdempotencyKeyDep = None,
) -> ReplayRead:
    """Every delivery of the endpoint made at or after `since`, whatever its state, is due
    again (retried for a new retry window), with the same `webhook-id` each, and sent in the
    order they were first made: one order's in that order, as always. Their attempts stay in
    the ledger. Answers how many; 409 `webhook_endpoint_disabled` when the endpoint is
    switched off or disabled."""
    requeued: int = await bus.handle(
        commands.ReplayEndpoint(endpoint_id, since, caller.channels, idempotency_key)
    )
    return ReplayRead(requeued=requeued)


@router.post(
    PATH + "/{endpoint_id}/test",
    status_code=202,
    summary="Send a test ping to a webhook endpoint",
    responses=problem_responses(404, 409, 422, 503),
)
async def send_test_ping(
    endpoint_id: UUID,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Writer,
    response: Response,
    idempotency_key: IdempotencyKeyDep = None,
) -> DeliveryWithAttemptsRead:
    """A delivery of an `oms.webhook.ping` CloudEvent (`data.endpoint_id` names the endpoint)
    for this endpoint alone, whatever event types it subscribes to, sent by the worker like
    any other: signed, retried, in the ledger. Answers the delivery (`Location` is where to
    follow it); 409 `webhook_endpoint_disabled` when the endpoint is switched off or
    disabled."""
    delivery_id: UUID = await bus.handle(
        commands.PingEndpoint(endpoint_id, caller.channels, idempotency_key)
    )
    response.headers["Location"] = f"/v1/deliveries/{delivery_id}"
    return await delivery_read(session, delivery_id, caller.channels)


async def _visible(
    session: ReadSessionDep, endpoint_id: UUID, caller: Principal
) -> WebhookEndpoint:
    found = await queries.get_endpoint(session, endpoint_id, channels=caller.channels)
    if found is None:
        raise WebhookEndpointNotFound(f"no webhook endpoint {endpoint_id}")
    return found


def endpoint_read(endpoint: WebhookEndpoint) -> WebhookEndpointRead:
    return WebhookEndpointRead(
        id=endpoint.id,
        url=endpoint.url,
        event_types=list(endpoint.event_types),
        channels=sorted(endpoint.channels) if endpoint.channels is not None else None,
        enabled=endpoint.enabled,
        description=endpoint.description,
        status=endpoint.status.value,
        secrets=[
            SecretRead(hint=s.hint, created_at=s.created_at, expires_at=s.expires_at)
            for s in endpoint.secrets
        ],
        version=endpoint.version,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )
