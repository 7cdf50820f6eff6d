"""The development webhook receiver (tools/webhook_receiver.py) that the README's tour and the
end-to-end tests listen with: it verifies Standard Webhooks signatures with the library."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tools.webhook_receiver import Receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
BODY = json.dumps({"type": "oms.order.placed", "subject": "o-1", "data": {}}).encode()


def signed(secrets: list[str], webhook_id: str = "evt-1") -> dict[str, str]:
    at = datetime.now(UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(webhook_id, at, BODY) for s in secrets),
        "content-type": "application/json",
    }


async def post(receiver: Receiver, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=receiver.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        return await client.post("/hooks", content=BODY, headers=headers)


@pytest.mark.unit
async def test_a_signed_delivery_is_verified_and_answered() -> None:
    receiver = Receiver(secrets=[SECRET])

    r = await post(receiver, signed([SECRET]))

    assert r.status_code == 204
    (got,) = receiver.received
    assert (got.webhook_id, got.verified, got.event["type"]) == ("evt-1", True, "oms.order.placed")
    assert json.loads(got.line())["verified"] is True


@pytest.mark.unit
async def test_during_a_rotation_either_signature_verifies() -> None:
    old_only, new_only = Receiver(secrets=[OLD_SECRET]), Receiver(secrets=[SECRET])
    both = signed([SECRET, OLD_SECRET])

    assert (await post(old_only, both)).status_code == 204
    assert (await post(new_only, both)).status_code == 204


@pytest.mark.unit
async def test_a_wrong_signature_is_401_and_recorded_unverified() -> None:
    receiver = Receiver(secrets=[SECRET])

    r = await post(receiver, signed([OLD_SECRET]))

    assert r.status_code == 401
    assert receiver.received[0].verified is False


@pytest.mark.unit
async def test_it_answers_the_status_it_is_told_to() -> None:
    receiver = Receiver(status=500)

    assert (await post(receiver, signed([SECRET]))).status_code == 500
    assert receiver.received[0].verified is None  # no secret given: not checked
