"""Admission control: past its limit a process refuses at once (503 `overloaded`, Retry-After)
instead of queueing, and takes requests again as soon as it has room."""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import Receive, Scope, Send

from libs.http.middleware import AdmissionControl
from libs.http.problems import PROBLEM_JSON
from tests.support.polling import eventually


class HeldApp:
    """An app whose requests wait until released, so the test decides how many are in flight."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started += 1
        if scope["path"] != "/healthz":
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def test_past_its_limit_a_process_refuses_at_once_and_takes_requests_again_later() -> None:
    held = HeldApp()
    admission = AdmissionControl(held, max_in_flight=2, retry_after_s=3)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=admission), base_url="http://oms"
    ) as http:
        first = [asyncio.create_task(http.post("/v1/orders", json={})) for _ in range(2)]

        async def started() -> int:
            return held.started

        await eventually(started, until=lambda n: n == 2, interval=0.001, what="two in flight")

        refused = await http.post("/v1/orders", json={})
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "3"
        assert refused.headers["Content-Type"] == PROBLEM_JSON
        assert refused.json()["code"] == "overloaded"
        assert held.started == 2  # the refused request never reached the app
        # Probes are never refused: an orchestrator must not restart a busy process.
        assert (await http.get("/healthz")).status_code == 200

        held.release.set()
        assert [r.status_code for r in await asyncio.gather(*first)] == [200, 200]
        assert admission.in_flight == 0
        assert (await http.post("/v1/orders", json={})).status_code == 200
        assert admission.shed == 1


async def test_a_failing_request_gives_its_place_back() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    admission = AdmissionControl(failing, max_in_flight=1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=admission, raise_app_exceptions=False),
        base_url="http://oms",
    ) as http:
        for _ in range(3):
            assert (await http.get("/v1/orders")).status_code == 500
    assert admission.in_flight == 0
    assert admission.shed == 0
