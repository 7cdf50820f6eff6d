"""Token verification refuses every way a token can be forged, expired or misdirected."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from libs.auth.keys import generate_signing_key, jwks_of, public_jwk
from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.auth.settings import AuthSettings
from libs.auth.tokens import InvalidToken, TokenVerifier, mint
from tools import dev_auth

ISSUER = "https://idp.example.com"
AUDIENCE = "urn:oms:api"
KEY = generate_signing_key("key-1")
OTHER_KEY = generate_signing_key("key-1")  # same kid, different key: a forger's


def verifier(*keys: dict[str, Any]) -> TokenVerifier:
    return TokenVerifier(jwks_of(*(keys or (KEY,))), issuer=ISSUER, audience=AUDIENCE, leeway_s=0)


def token(key: dict[str, Any] = KEY, **overrides: Any) -> str:
    claims: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "client_id": "connector",
        "scopes": [Scope.ORDERS_READ],
    }
    return mint(key, **(claims | overrides))


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims_of(text: str) -> dict[str, Any]:
    payload = text.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def test_a_valid_token_names_the_client_its_scopes_and_claims() -> None:
    principal = verifier().verify(
        token(scopes=["orders:read", "orders:write"], channels=["web"], locations=["store-1"])
    )
    assert principal == Principal(
        client_id="connector",
        scopes=frozenset({"orders:read", "orders:write"}),
        channels=frozenset({"web"}),
        locations=frozenset({"store-1"}),
    )


def test_without_narrowing_claims_the_client_is_not_narrowed() -> None:
    principal = verifier().verify(token())
    assert principal.channels is None and principal.locations is None
    assert principal.sees_channel("marketplace") and principal.sees_location("any")


def test_an_empty_claim_allows_nothing() -> None:
    principal = verifier().verify(token(channels=[]))
    assert principal.channels == frozenset() and not principal.sees_channel("web")


def test_admin_holds_every_scope_and_others_only_their_own() -> None:
    admin = verifier().verify(token(scopes=["admin"]))
    reader = verifier().verify(token(scopes=["orders:read"]))
    assert all(admin.allows(scope) for scope in Scope)
    assert reader.allows(Scope.ORDERS_READ) and not reader.allows(Scope.ORDERS_WRITE)


@pytest.mark.parametrize(
    ("why", "text"),
    [
        ("expired", token(ttl_s=60, now=time.time() - 3600)),
        ("not yet valid", token(now=time.time() + 3600)),
        ("wrong audience", token(audience="urn:someone-else")),
        ("wrong issuer", token(issuer="https://evil.example.com")),
        ("signed by another key under the same kid", token(OTHER_KEY)),
        ("unknown kid", token(generate_signing_key("key-2"))),
        ("not a JWT", "not-a-token"),
        ("empty", ""),
    ],
)
def test_untrustworthy_tokens_are_refused(why: str, text: str) -> None:
    with pytest.raises(InvalidToken):
        verifier().verify(text)


def test_a_tampered_payload_is_refused() -> None:
    header, _, signature = token().split(".")
    forged = _claims_of(token()) | {"scope": "admin"}
    with pytest.raises(InvalidToken):
        verifier().verify(f"{header}.{_b64(forged)}.{signature}")


def test_alg_none_is_refused() -> None:
    claims = _claims_of(token(scopes=["admin"]))
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': 'key-1'})}.{_b64(claims)}."
    with pytest.raises(InvalidToken, match="alg"):
        verifier().verify(unsigned)


def test_algorithm_confusion_with_the_public_key_as_hmac_secret_is_refused() -> None:
    """The classic attack: sign HS256 with the RSA public key (which is public), hoping the
    verifier uses the key it has with the algorithm the token names."""
    public_pem = jwt.PyJWK(public_jwk(KEY), algorithm="RS256").key.public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo
    )
    claims = _claims_of(token(scopes=["admin"]))
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": "key-1"})
    body = _b64(claims)
    signature = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{body}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"
    with pytest.raises(InvalidToken, match="alg"):
        verifier().verify(forged)


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub"])
def test_tokens_missing_a_required_claim_are_refused(claim: str) -> None:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "connector",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
        "scope": "admin",
    }
    del claims[claim]
    key = jwt.PyJWK(KEY, algorithm="RS256").key
    text = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "key-1"})
    with pytest.raises(InvalidToken):
        verifier().verify(text)


def test_narrowing_claims_of_the_wrong_shape_are_refused() -> None:
    key = jwt.PyJWK(KEY, algorithm="RS256").key
    claims = _claims_of(token()) | {"channels": "web"}
    with pytest.raises(InvalidToken, match="channels"):
        verifier().verify(jwt.encode(claims, key, algorithm="RS256", headers={"kid": "key-1"}))


def test_a_jwks_must_hold_public_asymmetric_keys_only() -> None:
    with pytest.raises(ValueError, match="private"):
        TokenVerifier({"keys": [KEY]}, issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(ValueError, match="asymmetric"):
        TokenVerifier(
            {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h", "alg": "HS256"}]},
            issuer=ISSUER,
            audience=AUDIENCE,
        )
    with pytest.raises(ValueError, match="no signing key"):
        TokenVerifier({"keys": []}, issuer=ISSUER, audience=AUDIENCE)


def test_key_rotation_trusts_every_key_in_the_jwks() -> None:
    new_key = generate_signing_key("key-2")
    both = verifier(KEY, new_key)
    assert both.verify(token(KEY)).client_id == both.verify(token(new_key)).client_id


class CountingVerifier(TokenVerifier):
    """Counts the signature checks it makes."""

    checked = 0

    def _verify_signed(self, text: str) -> tuple[Principal, float]:
        self.checked += 1
        return super()._verify_signed(text)


def test_a_verified_token_is_trusted_again_without_a_signature_check_until_it_expires() -> None:
    now = [time.time()]
    checking = CountingVerifier(
        jwks_of(KEY), issuer=ISSUER, audience=AUDIENCE, leeway_s=5, clock=lambda: now[0]
    )
    text = token(ttl_s=60)
    assert checking.verify(text) == checking.verify(text) == verifier().verify(text)
    assert checking.checked == 1
    now[0] += 60 + 4  # within the leeway: still trusted from memory
    checking.verify(text)
    assert checking.checked == 1
    now[0] += 2  # past expiry and leeway: checked in full again, never trusted from memory
    checking.verify(text)
    assert checking.checked == 2


def test_a_refused_token_is_refused_every_time() -> None:
    checking = CountingVerifier(jwks_of(KEY), issuer=ISSUER, audience=AUDIENCE)
    forged = token(OTHER_KEY)
    for _ in range(2):
        with pytest.raises(InvalidToken):
            checking.verify(forged)
    assert checking.checked == 2


def test_the_compose_keys_files_are_made_once_and_trusted_by_the_services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What docker-compose.yml's keys service writes and its services read, by file path.
    assert dev_auth.main(["files", "--dir", str(tmp_path)]) == 0
    first = (tmp_path / dev_auth.SIGNING_KEY_NAME).read_text()
    assert dev_auth.main(["files", "--dir", str(tmp_path)]) == 0  # a second `up` keeps it
    assert (tmp_path / dev_auth.SIGNING_KEY_NAME).read_text() == first
    for name in ("JWKS", "SIGNING_KEY"):
        monkeypatch.delenv(f"OMS_AUTH_{name}", raising=False)
    monkeypatch.setenv("OMS_AUTH_JWKS_FILE", str(tmp_path / dev_auth.JWKS_NAME))
    monkeypatch.setenv("OMS_AUTH_SIGNING_KEY_FILE", str(tmp_path / dev_auth.SIGNING_KEY_NAME))
    settings = AuthSettings()

    minted = settings.mint(client_id="returns", scopes=["orders:write"])

    assert settings.verifier().verify(minted).client_id == "returns"
