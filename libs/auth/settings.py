"""How every service trusts tokens: one identity provider for the whole system, so one set of
variables (`OMS_AUTH_*`), read from the environment only."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.auth.keys import DEV_KID_PREFIX, jwks_of
from libs.auth.tokens import TokenVerifier, mint

DEV_ISSUER = "urn:oms:dev-issuer"
DEFAULT_AUDIENCE = "urn:oms:api"
# Environments where development keys and passwords are acceptable.
NON_PRODUCTION = frozenset({"development", "test"})


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_AUTH_", extra="ignore", frozen=True)

    ISSUER: str = DEV_ISSUER
    AUDIENCE: str = DEFAULT_AUDIENCE
    # The authorization server's public keys: a JWKS document, inline or as a file path.
    JWKS: str = ""
    JWKS_FILE: str = ""
    # This service's own private JWK, to sign the tokens of its calls to other services:
    # inline or as a file path (a mounted Secret; the compose file's development key).
    SIGNING_KEY: SecretStr = SecretStr("")
    SIGNING_KEY_FILE: str = ""
    LEEWAY_S: float = Field(default=30, ge=0, le=300)
    SERVICE_TOKEN_TTL_S: int = Field(default=300, ge=30)

    def jwks(self) -> dict[str, Any]:
        if self.JWKS:
            document: dict[str, Any] = json.loads(self.JWKS)
            return document
        if self.JWKS_FILE:
            document = json.loads(Path(self.JWKS_FILE).read_text())
            return document
        key = self.signing_key()
        if key is None:
            raise ValueError("set OMS_AUTH_JWKS or OMS_AUTH_JWKS_FILE: no tokens can be verified")
        return jwks_of(key)

    def signing_key(self) -> dict[str, Any] | None:
        secret = self.SIGNING_KEY.get_secret_value()
        if not secret and self.SIGNING_KEY_FILE:
            secret = Path(self.SIGNING_KEY_FILE).read_text()
        if not secret:
            return None
        key: dict[str, Any] = json.loads(secret)
        return key

    def mint(
        self,
        *,
        client_id: str,
        scopes: Iterable[str],
        channels: Iterable[str] | None = None,
        locations: Iterable[str] | None = None,
        ttl_s: int = 3600,
        now: float | None = None,
        key: Mapping[str, Any] | None = None,
    ) -> str:
        """A token for this deployment's issuer and audience, signed with `key` or, without
        one, with this service's own signing key."""
        signing = key if key is not None else self.signing_key()
        if signing is None:
            raise ValueError(f"{client_id}: no key to sign with; set OMS_AUTH_SIGNING_KEY")
        return mint(
            signing,
            issuer=self.ISSUER,
            audience=self.AUDIENCE,
            client_id=client_id,
            scopes=scopes,
            channels=channels,
            locations=locations,
            ttl_s=ttl_s,
            now=now,
        )

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(
            self.jwks(), issuer=self.ISSUER, audience=self.AUDIENCE, leeway_s=self.LEEWAY_S
        )

    def refuse_defaults(self, env: str) -> None:
        """Outside development and test, refuse what only development may use: the dev issuer,
        and keys the development tooling made (trusted or used to sign)."""
        if env in NON_PRODUCTION:
            return
        if self.ISSUER == DEV_ISSUER:
            raise ValueError("OMS_AUTH_ISSUER is the development issuer; name the real one")
        key = self.signing_key()
        kids = [str(jwk.get("kid", "")) for jwk in [*self.jwks().get("keys", []), key or {}]]
        dev_keys = [kid for kid in kids if kid.startswith(DEV_KID_PREFIX)]
        if dev_keys:
            raise ValueError(
                f"development keys {sorted(dev_keys)} are configured outside development"
            )
