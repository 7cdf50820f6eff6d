"""POST /v1/promises with a requested delivery date: the options route as the order would
(locations that deliver by the date first) and each says whether it arrives by then."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from libs.runtime import ServiceContainer
from services.orchestration.adapters.routing_view import RoutingView
from services.orchestration.service_layer.unit_of_work import LocationRow

pytestmark = pytest.mark.usefixtures("migrated_databases")

BERLIN = (52.52, 13.405)
MUNICH = (48.1372, 11.5756)


async def located(
    container: ServiceContainer, sku: str, code: str, at: tuple[float, float], processing: int
) -> None:
    """A location in orchestration's view of inventory, as inventory's events leave it."""
    async with container.session_factory.begin() as session:
        view = RoutingView(session)
        view.location_changed(
            LocationRow(
                code=code,
                type="warehouse",
                active=True,
                capabilities=["ship"],
                country="DE",
                latitude=at[0],
                longitude=at[1],
                priority=0,
                daily_capacity=None,
                processing_days=processing,
                cutoff=None,
                timezone="UTC",
                version=1,
            )
        )
        view.stock_changed(sku, code, 5)
        await view.flush()


class TestPromiseByARequestedDate:
    @pytest.fixture
    async def network(self, container: ServiceContainer) -> dict[str, str]:
        # Berlin is nearest the customer but packs for ten business days (two weeks and
        # more); Munich dispatches by the next business day and delivers within about six
        # calendar days of it, whatever day the test runs on.
        suffix = uuid4().hex[:8]
        names = {"sku": f"LAMP-{suffix}", "slow": f"WH-BER-{suffix}", "quick": f"WH-MUC-{suffix}"}
        await located(container, names["sku"], names["slow"], BERLIN, 10)
        await located(container, names["sku"], names["quick"], MUNICH, 0)
        return names

    async def ask(
        self, client: httpx.AsyncClient, sku: str, requested: date | None
    ) -> list[dict[str, Any]]:
        body: dict[str, Any] = {
            "lines": [{"sku": sku, "quantity": 1}],
            "ship_to": {"country": "DE", "latitude": BERLIN[0], "longitude": BERLIN[1]},
        }
        if requested is not None:
            body["requested_delivery_date"] = requested.isoformat()
        r = await client.post("/v1/promises", json=body)
        assert r.status_code == 200, r.text
        options: list[dict[str, Any]] = r.json()["options"]
        assert [o["service_level"] for o in options] == ["standard", "express"]
        return options

    async def test_without_a_date_nothing_is_said_about_one(
        self, client: httpx.AsyncClient, network: dict[str, str]
    ) -> None:
        options = await self.ask(client, network["sku"], None)

        assert [o["meets_requested_date"] for o in options] == [None, None]
        assert {o["parts"][0]["location_code"] for o in options} == {network["slow"]}

    async def test_a_location_that_delivers_in_time_is_promised(
        self, client: httpx.AsyncClient, network: dict[str, str]
    ) -> None:
        requested = datetime.now(UTC).date() + timedelta(days=8)

        options = await self.ask(client, network["sku"], requested)

        for option in options:
            assert option["meets_requested_date"] is True
            assert option["parts"][0]["location_code"] == network["quick"]
            assert date.fromisoformat(option["delivery_date"]) <= requested

    async def test_a_date_no_location_meets_still_gets_the_best_options(
        self, client: httpx.AsyncClient, network: dict[str, str]
    ) -> None:
        requested = datetime.now(UTC).date()

        options = await self.ask(client, network["sku"], requested)

        for option in options:
            assert option["meets_requested_date"] is False
            assert option["parts"][0]["location_code"] == network["slow"]
            assert date.fromisoformat(option["delivery_date"]) > requested

    async def test_a_date_that_is_not_a_date_is_422(self, client: httpx.AsyncClient) -> None:
        body = {
            "lines": [{"sku": "LAMP-001", "quantity": 1}],
            "ship_to": {"country": "DE"},
            "requested_delivery_date": "2026-13-01",
        }
        r = await client.post("/v1/promises", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "requested_delivery_date"
