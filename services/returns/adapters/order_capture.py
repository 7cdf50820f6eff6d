"""order-capture's public API, as the exchanges' replacement orders reach it: the same call
any sales channel makes, authenticated as returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

import httpx

from libs.observability.logging import get_logger
from services.returns.service_layer.unit_of_work import Placement

log = get_logger(__name__)


class OrderCaptureClient:
    def __init__(
        self, *, url: str, credentials: Callable[[], Mapping[str, str]], timeout_s: float
    ) -> None:
        """`credentials` gives the headers that authenticate a call (a bearer token)."""
        self._url = url.rstrip("/")
        self._credentials = credentials
        self._timeout_s = timeout_s

    async def place(
        self, order: Mapping[str, Any], *, idempotency_key: str, return_id: UUID
    ) -> Placement | None:
        """The order placed, or order-capture's refusal; None when it could not be reached
        or failed (5xx), to be tried again."""
        try:
            async with httpx.AsyncClient(timeout=self._timeout_s) as http:
                r = await http.post(
                    f"{self._url}/v1/orders",
                    json=order,
                    headers={**self._credentials(), "Idempotency-Key": idempotency_key},
                )
        except httpx.HTTPError as exc:
            log.warning("exchange.unreachable", return_id=str(return_id), error=repr(exc))
            return None
        if r.status_code >= 500:
            log.warning("exchange.unavailable", return_id=str(return_id), status=r.status_code)
            return None
        if r.status_code in (200, 201):
            return Placement(UUID(r.json()["id"]))
        problem = r.json() if r.headers.get("content-type", "").endswith("json") else {}
        error = f"{problem.get('code', r.status_code)}: {problem.get('detail', r.text[:200])}"
        return Placement(None, error)
