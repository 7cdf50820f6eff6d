"""The tokens a service sends when it calls another service's API.

The service signs them with its own private key (`OMS_AUTH_SIGNING_KEY`), whose public half is
in the JWKS the other services trust, for just the scopes its calls need. A token is reused
until a minute before it expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from libs.auth.settings import AuthSettings
from libs.auth.tokens import bearer

RENEW_BEFORE_S = 60


class ServiceTokens:
    def __init__(
        self,
        settings: AuthSettings,
        *,
        client_id: str,
        scopes: Iterable[str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        if settings.signing_key() is None:
            raise ValueError(f"{client_id} calls other services: set OMS_AUTH_SIGNING_KEY")
        self._settings = settings
        self._client_id = client_id
        self._scopes = sorted(set(scopes))
        self._clock = clock
        self._token = ""
        self._expires_at = 0.0

    def headers(self) -> dict[str, str]:
        now = self._clock()
        if now >= self._expires_at - RENEW_BEFORE_S:
            ttl = self._settings.SERVICE_TOKEN_TTL_S
            self._token = self._settings.mint(
                client_id=self._client_id, scopes=self._scopes, ttl_s=ttl, now=now
            )
            self._expires_at = now + ttl
        return bearer(self._token)
