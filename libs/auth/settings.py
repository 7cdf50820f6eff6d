"""How every service trusts tokens: one identity provider for the whole system, so one set of
variables (`OMS_AUTH_*`), read from the environment only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.auth.keys import DEV_KID_PREFIX, jwks_of
from libs.auth.tokens import TokenVerifier

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
    # This service's own private JWK, to sign the tokens of its calls to other services.
    SIGNING_KEY: SecretStr = SecretStr("")
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
        if not secret:
            return None
        key: dict[str, Any] = json.loads(secret)
        return key

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
        verifier = self.verifier()
        dev_keys = [kid for kid in verifier.key_ids if kid.startswith(DEV_KID_PREFIX)]
        key = self.signing_key()
        if key is not None and str(key.get("kid", "")).startswith(DEV_KID_PREFIX):
            dev_keys.append(str(key["kid"]))
        if dev_keys:
            raise ValueError(
                f"development keys {sorted(dev_keys)} are configured outside development"
            )
