"""Signing keys as JWKs: generating one, and the public JWKS that verifiers are given."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

# Keys made by the development tooling carry this key-id prefix, so that a deployment outside
# development can refuse to trust (or sign with) a key that was never meant to leave a laptop.
DEV_KID_PREFIX = "oms-dev-"
SIGNING_ALGORITHM = "RS256"
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


def generate_signing_key(kid: str) -> dict[str, Any]:
    """A new RSA-2048 private key as a JWK with its key id and algorithm."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key))
    return jwk | {"kid": kid, "alg": SIGNING_ALGORITHM, "use": "sig"}


def public_jwk(private: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in private.items() if name not in _PRIVATE_MEMBERS}


def jwks_of(*private_keys: Mapping[str, Any]) -> dict[str, Any]:
    """The JWKS document (public halves only) that verifies tokens signed by these keys."""
    return {"keys": [public_jwk(key) for key in private_keys]}


def is_private(jwk: Mapping[str, Any]) -> bool:
    return any(member in jwk for member in _PRIVATE_MEMBERS)
