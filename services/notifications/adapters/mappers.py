"""Rows <-> the domain's webhook endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notifications.domain.endpoints import EndpointStatus, WebhookEndpoint
from services.notifications.domain.secrets import SigningSecret


def endpoint_of(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=row.id,
        url=row.url,
        event_types=tuple(row.event_types),
        channels=frozenset(row.channels) if row.channels is not None else None,
        enabled=row.enabled,
        description=row.description,
        status=EndpointStatus(row.status),
        secrets=secrets_of(row.secrets),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        failing_since=row.failing_since,
    )


def endpoint_row(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "channels": sorted(endpoint.channels) if endpoint.channels is not None else None,
        "enabled": endpoint.enabled,
        "description": endpoint.description,
        "status": endpoint.status.value,
        "secrets": [
            {
                "value": s.value,
                "created_at": s.created_at.isoformat(),
                "expires_at": s.expires_at.isoformat() if s.expires_at else None,
            }
            for s in endpoint.secrets
        ],
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
        "version": endpoint.version,
        "failing_since": endpoint.failing_since,
    }


def secrets_of(stored: list[dict[str, Any]]) -> tuple[SigningSecret, ...]:
    return tuple(_secret(s) for s in stored)


def _secret(stored: dict[str, Any]) -> SigningSecret:
    expires = stored.get("expires_at")
    return SigningSecret(
        value=stored["value"],
        created_at=datetime.fromisoformat(stored["created_at"]),
        expires_at=datetime.fromisoformat(expires) if expires else None,
    )
