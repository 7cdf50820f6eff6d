"""Sending one webhook request, signed as the Standard Webhooks specification says (with its
`standardwebhooks` library): `webhook-id` (the CloudEvent's id, the same on every attempt, so a
receiver dedupes on it), `webhook-timestamp` (when this attempt was signed) and
`webhook-signature` (`v1,<base64 HMAC-SHA256>`, one per secret valid now, space-separated: a
receiver still holding the secret being rotated out verifies as well as one holding the new).

Redirects are not followed (a redirect is a failed attempt: the receiver must name its real
URL). Outside development the address the name resolves to is checked before each attempt, so
a name that resolves to a private address after the endpoint was checked (DNS rebinding) is
refused too.
"""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from services.notifications.domain.delivery import (
    EXCERPT_CHARS,
    DueDelivery,
    Outcome,
    failed_answer,
)
from services.notifications.domain.targets import TargetPolicy, is_private_host

USER_AGENT = "oms-webhooks/1"


def signed_headers(
    webhook_id: str, payload: bytes, secrets: tuple[str, ...], at: datetime
) -> dict[str, str]:
    signatures = " ".join(Webhook(secret).sign(webhook_id, at, payload) for secret in secrets)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class HttpWebhookSender:
    def __init__(self, *, timeout_s: float, policy: TargetPolicy) -> None:
        self._timeout_s = timeout_s
        self._policy = policy
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s), follow_redirects=False, trust_env=False
        )

    async def send(self, delivery: DueDelivery, at: datetime) -> Outcome:
        started = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - started) * 1000)

        refused = await self._refused_target(delivery.url)
        if refused is not None:
            return Outcome(None, took(), refused)
        headers = signed_headers(delivery.webhook_id, delivery.payload, delivery.secrets, at)
        try:
            # httpx's own time-outs (connect, write, each read, a pooled connection), not a
            # cancellation from outside: a request cancelled midway can leave its connection
            # in the pool half used, and the pool then stalls every later request.
            async with self._client.stream(
                "POST", delivery.url, content=delivery.payload, headers=headers
            ) as response:
                excerpt = await _excerpt(response)
        except httpx.TimeoutException:
            return Outcome(None, took(), f"no answer within {self._timeout_s:g} s")
        except httpx.HTTPError as exc:
            return Outcome(None, took(), f"could not send: {type(exc).__name__}: {exc}")
        code = response.status_code
        error = None if 200 <= code < 300 else failed_answer(code)
        return Outcome(code, took(), error, excerpt)

    async def _refused_target(self, url: str) -> str | None:
        """Why the URL's host may not be sent to now, or None."""
        if self._policy.allow_private:
            return None
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or 443, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            return f"could not resolve {host}: {exc}"
        for *_, address in found:
            if is_private_host(str(address[0])):
                return f"{host} resolves to {address[0]}, a private address: refused (SSRF)"
        return None

    async def close(self) -> None:
        await self._client.aclose()


async def _excerpt(response: httpx.Response) -> str:
    """The start of the answer's body, without reading a large one whole."""
    body = b""
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) >= EXCERPT_CHARS:
            break
    return body[:EXCERPT_CHARS].decode("utf-8", errors="replace")
