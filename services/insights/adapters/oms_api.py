"""The services' public HTTP APIs, as the operations console calls them: always with the
operator's own bearer token, so every API's scopes and channel/location narrowing apply to
what the console shows exactly as they would to the operator calling the API.

One `httpx.AsyncClient` per process (a pool of keep-alive connections to the six services),
short time-outs, closed on shutdown. Read-only but for the few actions an operator takes
(release, approve, reject a hold; re-drive a dead letter), each with the form's own
Idempotency-Key. Nothing here is in the order path: this is the back office.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from libs.observability.logging import get_logger

log = get_logger(__name__)

# The services the console reads, by the name the settings give their base URL.
SERVICES = ("order_capture", "inventory", "orchestration", "returns", "notifications", "insights")


@dataclass(frozen=True)
class Answer:
    """One API call's outcome. `status` is None when the service did not answer at all
    (refused, timed out): a page shows a short notice for it, never an error page."""

    status: int | None
    body: Any = None
    text: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    failure: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def problem(self) -> Mapping[str, Any]:
        """The problem+json body of a refusal (empty when there is none)."""
        return self.body if isinstance(self.body, dict) and not self.ok else {}

    def items(self) -> list[dict[str, Any]]:
        """The `items` of a list answer (the house's pagination envelope), [] otherwise."""
        if self.ok and isinstance(self.body, dict):
            found = self.body.get("items")
            if isinstance(found, list):
                return [item for item in found if isinstance(item, dict)]
        return []


class OmsApi:
    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`urls`: each service's base URL by name (SERVICES); `transport` lets a test answer
        in place of the services."""
        missing = set(SERVICES) - set(urls)
        if missing:
            raise ValueError(f"no URL for {sorted(missing)}")
        self._urls = {name: url.rstrip("/") for name, url in urls.items()}
        # Keep-alive connections are reused across pages; a handful per service is plenty for
        # a back office's few operators.
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)),
            limits=httpx.Limits(max_connections=60, max_keepalive_connections=30),
            transport=transport,
            follow_redirects=False,
        )

    def url(self, service: str, path: str) -> str:
        return f"{self._urls[service]}{path}"

    async def get(
        self,
        service: str,
        path: str,
        *,
        token: str,
        params: Mapping[str, str | int] | None = None,
        accept: str = "application/json",
    ) -> Answer:
        return await self._call(
            "GET", service, path, token=token, params=params, headers={"Accept": accept}
        )

    async def post(
        self,
        service: str,
        path: str,
        *,
        token: str,
        idempotency_key: str,
        body: Mapping[str, Any] | None = None,
    ) -> Answer:
        return await self._call(
            "POST",
            service,
            path,
            token=token,
            json_body=body,
            headers={"Idempotency-Key": idempotency_key},
        )

    async def _call(
        self,
        method: str,
        service: str,
        path: str,
        *,
        token: str,
        headers: Mapping[str, str],
        params: Mapping[str, str | int] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> Answer:
        try:
            r = await self._http.request(
                method,
                self.url(service, path),
                params={k: v for k, v in (params or {}).items() if v != ""},
                json=json_body,
                headers={**headers, "Authorization": f"Bearer {token}"},
            )
        except httpx.TimeoutException:
            log.warning("console.api_timeout", service=service, path=path)
            return Answer(None, failure=f"{service} did not answer in time")
        except httpx.HTTPError as exc:
            log.warning("console.api_unreachable", service=service, path=path, error=repr(exc))
            return Answer(None, failure=f"{service} cannot be reached")
        body: Any = None
        if "json" in r.headers.get("content-type", ""):
            try:
                body = r.json()
            except json.JSONDecodeError:
                body = None
        return Answer(r.status_code, body=body, text=r.text, headers=dict(r.headers))

    async def aclose(self) -> None:
        await self._http.aclose()
