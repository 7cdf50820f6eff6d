"""Read-only questions to inventory over HTTP: its locations and their available stock.

Timeouts on every call and a few quick retries with backoff; when inventory stays away the
caller gets InventoryUnavailable and the saga waits and asks again later.
"""

from __future__ import annotations

import asyncio
import time as clock
from collections.abc import Callable, Mapping, Sequence
from datetime import time
from typing import Any

import httpx

from services.orchestration.domain.routing.model import GeoPoint, Site

PAGE = 200


class InventoryUnavailable(Exception):
    """Inventory did not answer usefully (down, timing out, or answering 5xx)."""


class InventoryClient:
    def __init__(
        self,
        base_url: str,
        *,
        credentials: Callable[[], Mapping[str, str]] = dict,
        timeout_s: float = 2.0,
        attempts: int = 3,
        backoff_s: float = 0.2,
        locations_ttl_s: float = 0.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`credentials` gives the headers that authenticate a call (a bearer token);
        `locations_ttl_s` how long the list of locations is reused (stock never is);
        `transport` replaces the network (the unit tests answer in process)."""
        self._base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._timeout = httpx.Timeout(timeout_s)
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._locations_ttl_s = locations_ttl_s
        self._cached: tuple[float, list[dict[str, Any]]] | None = None  # (fetched at, list)

    def _client(self) -> httpx.AsyncClient:
        # One client for the process: its connections are reused, and its TLS context is made
        # once (a client per call made one each time: 16 % of orchestration's time under load).
        if self._http is None or self._http.is_closed:
            self._http = httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout, transport=self._transport
            )
        return self._http

    async def sites(self, skus: Sequence[str]) -> list[Site]:
        """Every location (inactive ones too, so routing can say why it skipped them) with
        its available units of these SKUs."""
        http = self._client()
        locations, stock = await asyncio.gather(
            self._locations(http),
            self._call(http, "POST", "/v1/availability", json={"skus": sorted(set(skus))}),
        )
        available: dict[str, dict[str, int]] = {}
        incoming: dict[str, dict[str, int]] = {}
        for item in stock["items"]:
            sku = item["sku"]
            for loc in item["locations"]:
                available.setdefault(loc["location_code"], {})[sku] = loc["available"]
            for delivery in item.get("incoming", []):
                expected = incoming.setdefault(delivery["location_code"], {})
                expected[sku] = expected.get(sku, 0) + delivery["quantity"]
        return [
            _site(loc, available.get(loc["code"], {}), incoming.get(loc["code"], {}))
            for loc in locations
        ]

    async def _locations(self, http: httpx.AsyncClient) -> list[dict[str, Any]]:
        """Inventory's locations, reused for `locations_ttl_s`: they change rarely, and
        fetching and reading 100 of them for every order was a tenth of the routing's time."""
        now = clock.monotonic()
        if self._cached is not None and now - self._cached[0] < self._locations_ttl_s:
            return self._cached[1]
        found = await self._all_locations(http)
        self._cached = (now, found)
        return found

    async def _all_locations(self, http: httpx.AsyncClient) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": PAGE}
            if cursor:
                params["cursor"] = cursor
            page = await self._call(http, "GET", "/v1/locations", params=params)
            found.extend(page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    async def _call(self, http: httpx.AsyncClient, method: str, path: str, **kw: Any) -> Any:
        last = ""
        for attempt in range(1, self._attempts + 1):
            try:
                r = await http.request(method, path, headers=dict(self._credentials()), **kw)
                if r.status_code < 500:
                    r.raise_for_status()
                    return r.json()
                last = f"{method} {path}: HTTP {r.status_code}"
            except httpx.HTTPStatusError as exc:
                # A 4xx is our bug, not an outage; retrying later will not cure it either,
                # but failing the order for it would be worse: report it as unavailable.
                last = f"{method} {path}: HTTP {exc.response.status_code}"
                break
            except httpx.HTTPError as exc:
                last = f"{method} {path}: {type(exc).__name__}"
            if attempt < self._attempts:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        raise InventoryUnavailable(last)


def _site(loc: dict[str, Any], available: dict[str, int], incoming: dict[str, int]) -> Site:
    address = loc["address"]
    lat, lon = address.get("latitude"), address.get("longitude")
    cutoff = loc.get("cutoff_time")
    return Site(
        code=loc["code"],
        type=loc["type"],
        active=loc["active"],
        capabilities=frozenset(loc["capabilities"]),
        country=address["country"],
        point=GeoPoint(lat, lon) if lat is not None and lon is not None else None,
        priority=loc.get("priority", 0),
        daily_capacity=loc.get("daily_order_capacity"),
        processing_days=loc.get("processing_days", 0),
        cutoff=time.fromisoformat(cutoff) if cutoff else None,
        timezone=loc.get("timezone", "UTC"),
        available=available,
        incoming=incoming,
    )
