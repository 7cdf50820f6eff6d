"""Clients placing orders while things break, as a well-behaved channel would: each order
has one Idempotency-Key, sent again with the same body after a 503 (after its Retry-After)
or a connection error, until the order is accepted.

What the clients must never see: a 500, a 503 without Retry-After, any other status, or no
answer within their timeout (a hang). Each is recorded in `Load.failures`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.orders import order_body

# A client gives up on one attempt after this long: longer is a hang, and a failure.
CLIENT_TIMEOUT_S = 10.0
# An order not accepted after this long (all retries) is a failure too.
ORDER_DEADLINE_S = 90.0
# Between attempts after a refused or reset connection (the service is restarting).
RECONNECT_PAUSE_S = 0.25
# Between one client's orders: a steady flow of a few orders a second, not a benchmark. The
# backlog an outage builds must be worked off within the suite's 30 s on a shared 2-core
# machine (the broker's restart alone takes up to half a minute there), and is a few hundred
# orders at this pace (two a second).
PACE_S = 1.0


@dataclass
class Placed:
    """One order as its client saw it."""

    key: str
    order_id: str | None = None
    answers: list[str] = field(default_factory=list)  # "201", "503", "ConnectError", ...


@dataclass
class Load:
    """`clients` concurrent clients, each placing one order after another until `stop`."""

    url: str
    headers: dict[str, str]
    sku: str
    clients: int = 2
    placed: list[Placed] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def accepted(self) -> list[str]:
        return [p.order_id for p in self.placed if p.order_id is not None]

    @property
    def units(self) -> int:
        """Units ordered by accepted orders (one each)."""
        return len(self.accepted)

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=self.clients)
        async with httpx.AsyncClient(
            timeout=CLIENT_TIMEOUT_S, headers=self.headers, limits=limits
        ) as client:
            await asyncio.gather(*(self._client(client) for _ in range(self.clients)))

    async def _client(self, client: httpx.AsyncClient) -> None:
        while not self._stop.is_set():
            await self._place(client)
            await asyncio.sleep(PACE_S)  # the pace of the flow, not a wait for anything

    async def _place(self, client: httpx.AsyncClient) -> None:
        order = Placed(key=str(uuid.uuid4()))
        self.placed.append(order)
        body = order_body([(self.sku, 1, "10.00")], channel_order_ref=f"CHAOS-{order.key[:12]}")
        deadline = time.monotonic() + ORDER_DEADLINE_S
        while time.monotonic() < deadline:
            pause = await self._attempt(client, order, body)
            if pause is None:
                return
            await asyncio.sleep(pause)
        self.failures.append(f"order {order.key} not accepted in {ORDER_DEADLINE_S}s")

    async def _attempt(
        self, client: httpx.AsyncClient, order: Placed, body: dict[str, Any]
    ) -> float | None:
        """One try: None when the order's outcome is settled, else the pause before the next."""
        try:
            r = await client.post(
                f"{self.url}/v1/orders", json=body, headers={"Idempotency-Key": order.key}
            )
        except httpx.TimeoutException as exc:
            order.answers.append(type(exc).__name__)
            self.failures.append(f"order {order.key}: no answer in {CLIENT_TIMEOUT_S}s ({exc!r})")
            return None
        except httpx.TransportError as exc:  # refused, reset, closed mid-answer: retry
            order.answers.append(type(exc).__name__)
            return RECONNECT_PAUSE_S
        order.answers.append(str(r.status_code))
        if r.status_code in (200, 201):
            order.order_id = r.json()["id"]
            return None
        if r.status_code == 503 and r.headers.get("Retry-After", "").isdigit():
            return float(r.headers["Retry-After"])
        self.failures.append(f"order {order.key}: HTTP {r.status_code} {r.text[:300]}")
        return None
