"""Real tokens for the tests, signed with the run's own key (tests.support.environment)."""

from __future__ import annotations

from collections.abc import Iterable

from libs.auth.scopes import Scope
from libs.auth.settings import AuthSettings
from libs.auth.tokens import bearer

__all__ = ["admin_headers", "bearer", "token"]


def token(
    scopes: Iterable[str] = (Scope.ADMIN,),
    *,
    channels: Iterable[str] | None = None,
    locations: Iterable[str] | None = None,
    client_id: str = "test-client",
    ttl_s: int = 3600,
    now: float | None = None,
) -> str:
    return AuthSettings().mint(
        client_id=client_id,
        scopes=scopes,
        channels=channels,
        locations=locations,
        ttl_s=ttl_s,
        now=now,
    )


def admin_headers() -> dict[str, str]:
    """A back-office client: every scope, narrowed to no channel or location."""
    return bearer(token(client_id="test-admin"))
