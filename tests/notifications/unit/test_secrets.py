"""Signing secrets: the Standard Webhooks format, and rotation with an overlap."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.notifications.adapters.secrets import RandomSecrets
from services.notifications.domain.errors import InvalidWebhookSecret
from services.notifications.domain.secrets import (
    MAX_SECRETS,
    SigningSecret,
    format_secret,
    rotated,
    secret_bytes,
    signing_secrets,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_a_new_secret_is_whsec_and_base64_of_24_random_bytes() -> None:
    made = {RandomSecrets().new_secret() for _ in range(20)}

    assert len(made) == 20
    for secret in made:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24


def test_the_standard_webhooks_library_signs_and_verifies_with_our_secret() -> None:
    secret = RandomSecrets().new_secret()
    body = json.dumps({"type": "oms.order.placed"})
    now = datetime.now(UTC)  # the library refuses a timestamp 5 minutes away from its clock
    signature = Webhook(secret).sign("msg_1", now, body)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now.timestamp()))}

    verified = Webhook(secret).verify(body, headers | {"webhook-signature": signature})

    assert verified == {"type": "oms.order.placed"}
    other = Webhook(RandomSecrets().new_secret())
    with pytest.raises(WebhookVerificationError):
        other.verify(body, headers | {"webhook-signature": signature})


@pytest.mark.parametrize(
    "secret",
    [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # no prefix
        "whsec_",
        "whsec_not base64!",
        "whsec_" + base64.b64encode(b"x" * 23).decode(),  # too short
        "whsec_" + base64.b64encode(b"x" * 65).decode(),  # too long
    ],
)
def test_a_secret_in_another_format_is_refused(secret: str) -> None:
    with pytest.raises(InvalidWebhookSecret):
        secret_bytes(secret)


def test_a_secret_in_the_format_is_its_bytes() -> None:
    assert secret_bytes(format_secret(b"k" * 32)) == b"k" * 32
    with pytest.raises(InvalidWebhookSecret):
        format_secret(b"k" * 8)


def _secret(n: int) -> str:
    return format_secret(n.to_bytes(24, "big"))


def test_rotating_keeps_the_old_secret_valid_for_the_overlap() -> None:
    first = (SigningSecret(_secret(1), NOW - DAY),)

    after = rotated(first, _secret(2), NOW, DAY)

    assert after == (
        SigningSecret(_secret(2), NOW),
        SigningSecret(_secret(1), NOW - DAY, expires_at=NOW + DAY),
    )
    assert signing_secrets(after, NOW + DAY - timedelta(seconds=1)) == [_secret(2), _secret(1)]
    assert signing_secrets(after, NOW + DAY) == [_secret(2)]


def test_an_overlap_of_zero_ends_the_old_secret_at_once() -> None:
    after = rotated((SigningSecret(_secret(1), NOW - DAY),), _secret(2), NOW, timedelta(0))

    assert signing_secrets(after, NOW) == [_secret(2)]
    assert [s.value for s in after] == [_secret(2)]


def test_rotating_again_keeps_earlier_secrets_expiry_drops_expired_and_caps_the_count() -> None:
    secrets: tuple[SigningSecret, ...] = (SigningSecret(_secret(0), NOW - 10 * DAY),)
    secrets = rotated(secrets, _secret(1), NOW - 5 * DAY, DAY)  # secret 0 expired 4 days ago
    at = NOW
    for n in range(2, 2 + MAX_SECRETS + 1):
        at += timedelta(minutes=1)
        secrets = rotated(secrets, _secret(n), at, DAY)

    values = [s.value for s in secrets]
    assert len(values) == MAX_SECRETS
    assert values[0] == _secret(2 + MAX_SECRETS)  # the newest is current
    assert [s.expires_at is None for s in secrets] == [True] + [False] * (MAX_SECRETS - 1)
    assert _secret(0) not in values
    # The rotation at NOW - 5 days gave secret 1 one more day: gone long since.
    assert _secret(1) not in values


def test_a_rotation_to_a_secret_in_another_format_is_refused() -> None:
    with pytest.raises(InvalidWebhookSecret):
        rotated((SigningSecret(_secret(1), NOW),), "not-a-secret", NOW, DAY)
