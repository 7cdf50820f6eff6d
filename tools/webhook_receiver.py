"""A webhook receiver for development and the tests: it checks each delivery's Standard Webhooks
signature (with the `standardwebhooks` library, as a receiver should) and prints one JSON line
per delivery.

    python -m tools.webhook_receiver --port 9000 --secret whsec_...   # the README's tour
    python -m tools.webhook_receiver --port 9000 --status 500         # a receiver that fails

Each line: the `webhook-id`, the event's type and subject, whether the signature verified
(`null` without --secret), and the HTTP status answered. A delivery whose signature does not
verify is answered 401, as a real receiver would, and printed all the same.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


@dataclass
class Received:
    """One delivery as it arrived."""

    webhook_id: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None
    status: int

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    def line(self) -> str:
        event = self.event
        return json.dumps(
            {
                "webhook_id": self.webhook_id,
                "type": event.get("type"),
                "subject": event.get("subject"),
                "verified": self.verified,
                "status": self.status,
            }
        )


@dataclass
class Receiver:
    """What the receiver answers (`status`, changeable while it runs) and what it got."""

    secrets: Sequence[str] = ()
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)  # sent with every answer
    delay_s: float = 0.0  # before answering: a slow (or, long enough, a hanging) receiver
    received: list[Received] = field(default_factory=list)
    on_receive: Callable[[Received], None] | None = None
    # Requests being answered now, and the most there ever were at once.
    in_flight: int = 0
    most_in_flight: int = 0

    def verified(self, body: bytes, headers: dict[str, str]) -> bool | None:
        if not self.secrets:
            return None
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers, json_parse=False)
                return True
            except WebhookVerificationError:
                continue
        return False

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        verified = self.verified(body, headers)
        status = 401 if verified is False else self.status
        got = Received(headers.get("webhook-id", ""), headers, body, verified, status)
        self.received.append(got)
        if self.on_receive is not None:
            self.on_receive(got)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight -= 1
        return Response(status_code=status, headers=self.headers)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.receive, methods=["POST"])])


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.webhook_receiver")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--secret", action="append", default=[], help="the endpoint's signing secret (whsec_...)"
    )
    parser.add_argument("--status", type=int, default=204, help="the status to answer")
    args = parser.parse_args(argv)
    receiver = Receiver(
        secrets=args.secret,
        status=args.status,
        on_receive=lambda got: print(got.line(), flush=True),
    )
    uvicorn.run(receiver.app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
