"""Webhook endpoints' use cases: create, change, delete, rotate the signing secret.

A caller narrowed to channels reaches only the endpoints whose channel filter lies within its
channels; any other is answered exactly like a missing one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID

from libs.errors import PreconditionFailed
from libs.ids import new_id
from services.notifications.domain import commands
from services.notifications.domain.endpoints import (
    EndpointStatus,
    Unset,
    WebhookEndpoint,
    check_channels,
    visible_to,
)
from services.notifications.domain.errors import WebhookEndpointNotFound
from services.notifications.domain.matching import check_patterns
from services.notifications.domain.secrets import SigningSecret, secret_bytes
from services.notifications.domain.targets import TargetPolicy, check_url
from services.notifications.service_layer.unit_of_work import UnitOfWork

SCOPE_CREATE = "webhook-endpoints-create"


class EndpointRules:
    """What an endpoint's fields are checked against: where webhooks may go (from the
    settings), the event types there are (the contracts), and how long a rotated-out secret
    stays valid unless the rotation says (the settings)."""

    def __init__(
        self,
        targets: TargetPolicy,
        known_event_types: frozenset[str],
        default_overlap: timedelta = timedelta(hours=24),
    ) -> None:
        self.targets = targets
        self.known_event_types = known_event_types
        self.default_overlap = default_overlap


class EndpointHandlers:
    def __init__(self, rules: EndpointRules) -> None:
        self._rules = rules

    async def create(self, cmd: commands.CreateEndpoint, uow: UnitOfWork) -> UUID:
        prior = await uow.idempotency.replayed(
            scope=SCOPE_CREATE, key=cmd.idempotency_key, fingerprint=cmd.fingerprint
        )
        if prior is not None and prior.resource_id is not None:
            return UUID(prior.resource_id)
        check_channels(cmd.channels, cmd.allowed_channels)
        now = uow.clock.now()
        endpoint = WebhookEndpoint(
            id=new_id(),
            url=check_url(cmd.url, self._rules.targets),
            event_types=check_patterns(cmd.event_types, self._rules.known_event_types),
            channels=cmd.channels,
            enabled=cmd.enabled,
            description=cmd.description,
            status=EndpointStatus.ACTIVE,
            secrets=(SigningSecret(_secret(cmd.secret, uow), now),),
            created_at=now,
            updated_at=now,
        )
        await uow.endpoints.add(endpoint)
        await uow.idempotency.complete(resource_id=str(endpoint.id), status=201)
        return endpoint.id

    async def update(self, cmd: commands.UpdateEndpoint, uow: UnitOfWork) -> None:
        endpoint = await _visible(uow, cmd.endpoint_id, cmd.allowed_channels)
        if cmd.expected_version is not None and cmd.expected_version != endpoint.version:
            raise PreconditionFailed(
                f"webhook endpoint {endpoint.id} is at version {endpoint.version}"
            )
        changes = cmd.changes
        if not isinstance(changes.url, Unset):
            changes = replace(changes, url=check_url(changes.url, self._rules.targets))
        if not isinstance(changes.event_types, Unset):
            patterns = check_patterns(changes.event_types, self._rules.known_event_types)
            changes = replace(changes, event_types=patterns)
        if not isinstance(changes.channels, Unset):
            check_channels(changes.channels, cmd.allowed_channels)
        endpoint.change(changes, uow.clock.now())
        await uow.endpoints.save(endpoint)

    async def delete(self, cmd: commands.DeleteEndpoint, uow: UnitOfWork) -> None:
        endpoint = await _visible(uow, cmd.endpoint_id, cmd.allowed_channels)
        await uow.endpoints.delete(endpoint.id)

    async def rotate_secret(self, cmd: commands.RotateSecret, uow: UnitOfWork) -> str:
        """The new secret (the only time it is shown); the one before it stays valid for the
        overlap."""
        endpoint = await _visible(uow, cmd.endpoint_id, cmd.allowed_channels)
        secret = _secret(cmd.secret, uow)
        overlap = cmd.overlap if cmd.overlap is not None else self._rules.default_overlap
        endpoint.rotate_secret(secret, uow.clock.now(), overlap)
        await uow.endpoints.save(endpoint)
        return secret


def _secret(brought: str | None, uow: UnitOfWork) -> str:
    if brought is None:
        return uow.secrets.new_secret()
    secret_bytes(brought)  # InvalidWebhookSecret unless whsec_ and 24 to 64 bytes of base64
    return brought


async def _visible(
    uow: UnitOfWork, endpoint_id: UUID, allowed: frozenset[str] | None
) -> WebhookEndpoint:
    endpoint = await uow.endpoints.get_for_update(endpoint_id)
    if endpoint is None or not visible_to(endpoint, allowed):
        raise WebhookEndpointNotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint
