"""Signed JWT bearer tokens: verifying them against a JWKS, and minting them with a private JWK.

Verification trusts only what configuration says. The key comes from the JWKS by the token's
`kid`, and the algorithm from that key, never from the token: a token that names another
algorithm than its key's (`none`, or HS256 keyed with the RSA public key, the classic algorithm
confusion) is refused before its signature is even looked at. Issuer, audience, expiry and
issue time are required and checked.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jwt

from libs.auth.keys import is_private
from libs.auth.principal import Principal

# Asymmetric algorithms only: a verifier must never hold a secret that could also sign.
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
# Verified tokens kept, each until it expires: a client sends the same token for its whole
# life, and an RSA verification per request was a tenth of order capture's CPU. A token is a
# few hundred bytes, so this is a few megabytes at most.
VERIFIED_CACHE_SIZE = 4096


class InvalidToken(Exception):
    """The token cannot be trusted; the message says why (for logs, not for the client)."""


class TokenVerifier:
    def __init__(
        self,
        jwks: Mapping[str, Any],
        *,
        issuer: str,
        audience: str,
        leeway_s: float = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s
        self._keys: dict[str, tuple[str, Any]] = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("use", "sig") != "sig":
                continue
            kid, alg = jwk.get("kid"), jwk.get("alg")
            if not isinstance(kid, str) or alg not in ASYMMETRIC:
                raise ValueError("every signing key in the JWKS needs a kid and an asymmetric alg")
            if is_private(jwk):
                raise ValueError(
                    f"the JWKS holds private key material (kid {kid}); publish public keys"
                )
            self._keys[kid] = (alg, jwt.PyJWK(dict(jwk), algorithm=alg).key)
        if not self._keys:
            raise ValueError("the JWKS has no signing key")
        # token -> (its principal, the moment it stops being accepted: exp + leeway)
        self._verified: dict[str, tuple[Principal, float]] = {}

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def verify(self, token: str) -> Principal:
        """The token's principal; InvalidToken if it cannot be trusted. A token verified
        before is trusted again without its signature being checked until it expires: the
        same bytes were verified against the same keys, and only time can change the answer.
        """
        known = self._verified.get(token)
        if known is not None:
            principal, valid_until = known
            if self._clock() <= valid_until:
                return principal
            del self._verified[token]
        principal, expires_at = self._verify_signed(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest first
        self._verified[token] = (principal, expires_at + self._leeway_s)
        return principal

    def _verify_signed(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        kid = header.get("kid")
        found = self._keys.get(kid) if isinstance(kid, str) else None
        if found is None:
            raise InvalidToken(f"no configured key has kid {kid!r}")
        algorithm, key = found
        if header.get("alg") != algorithm:
            raise InvalidToken(f"token names alg {header.get('alg')!r}; its key is {algorithm}")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway_s,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(str(exc)) from exc
        return principal_from(claims), float(claims["exp"])


def principal_from(claims: Mapping[str, Any]) -> Principal:
    """RFC 9068 claims: `client_id` (else `sub`) and a space-separated `scope`; ours:
    `channels` and `locations`, each a list of codes when present."""
    client_id = claims.get("client_id", claims["sub"])
    scope = claims.get("scope", "")
    if not isinstance(client_id, str) or not client_id or not isinstance(scope, str):
        raise InvalidToken("client_id/sub must be a non-empty string and scope a string")
    return Principal(
        client_id=client_id,
        scopes=frozenset(scope.split()),
        channels=_codes(claims, "channels"),
        locations=_codes(claims, "locations"),
    )


def _codes(claims: Mapping[str, Any], name: str) -> frozenset[str] | None:
    if name not in claims:
        return None
    value = claims[name]
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise InvalidToken(f"claim {name} must be a list of strings")
    return frozenset(value)


def bearer(token: str) -> dict[str, str]:
    """The header that sends `token`."""
    return {"Authorization": f"Bearer {token}"}


def mint(
    signing_key: Mapping[str, Any],
    *,
    issuer: str,
    audience: str,
    client_id: str,
    scopes: Iterable[str],
    channels: Iterable[str] | None = None,
    locations: Iterable[str] | None = None,
    ttl_s: int = 3600,
    now: float | None = None,
) -> str:
    """A token as an OAuth2 authorization server issues it for the client-credentials grant."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": client_id,
        "client_id": client_id,
        "scope": " ".join(sorted(set(scopes))),
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_s,
        "jti": str(uuid.uuid4()),
    }
    if channels is not None:
        claims["channels"] = sorted(set(channels))
    if locations is not None:
        claims["locations"] = sorted(set(locations))
    algorithm = signing_key["alg"]
    key = _private_key(json.dumps(dict(signing_key), sort_keys=True), algorithm)
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": signing_key["kid"]})


@functools.lru_cache(maxsize=8)
def _private_key(jwk_json: str, algorithm: str) -> Any:
    """The signing key loaded once per key, not once per token: loading an RSA private key
    checks its primes, about 70 ms here against under 2 ms to sign with it."""
    return jwt.PyJWK(json.loads(jwk_json), algorithm=algorithm).key
