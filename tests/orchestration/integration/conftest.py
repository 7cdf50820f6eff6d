"""orchestration in-process (API only, no workers) against the real test database, and
orders seeded straight through the saga repository: one saga, one fulfilment order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from libs.runtime import ServiceContainer
from services.orchestration.adapters.repository import SagaRepository
from services.orchestration.api.app import create_app
from services.orchestration.bootstrap import bootstrap
from services.orchestration.domain.fulfillment import (
    Fulfillment,
    FulfillmentLine,
    Shipment,
    Status,
)
from services.orchestration.domain.order import OrderLine, OrderSnapshot, ShipTo
from services.orchestration.domain.payments import Kind, OpStatus, PaymentOperation
from services.orchestration.domain.routing.model import Method
from services.orchestration.domain.saga import OrderSaga, SagaState
from tests.support.tokens import admin_headers


@pytest.fixture(scope="module")
async def container(migrated_databases: None) -> AsyncIterator[ServiceContainer]:
    c = bootstrap()
    yield c
    await c.engine.dispose()


def app_for(container: ServiceContainer) -> FastAPI:
    app = create_app(container, parts=("api",))
    app.state.container = container
    return app


def client_for(container: ServiceContainer, app: FastAPI | None = None) -> httpx.AsyncClient:
    app = app or app_for(container)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=admin_headers()
    )


@pytest.fixture
async def client(container: ServiceContainer) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(container) as c:
        yield c


@dataclass(frozen=True)
class Seeded:
    order_id: UUID
    fulfillment_id: UUID
    channel: str
    location: str


def order_snapshot(
    channel: str, *, method: Method = Method.SHIP, service_level: str = "standard"
) -> OrderSnapshot:
    return OrderSnapshot(
        order_number=f"OMS-T{uuid4().hex[:8].upper()}",
        channel=channel,
        currency="EUR",
        placed_at=datetime.now(UTC),
        lines=(OrderLine("L1", "LAMP-001", 2, Decimal("40.00")),),
        ship_to=ShipTo("DE", 52.52, 13.405, "Ada Lovelace", "Main St 1", "Berlin", "10115"),
        method=method,
        service_level=service_level,
        pickup_location="ST-BER" if method is Method.PICKUP else None,
        payment_token="tok_visa",
        grand_total=Decimal("44.90"),
        shipping_amount=Decimal("4.90"),
    )


async def seed_order(
    container: ServiceContainer,
    *,
    channel: str,
    location: str,
    status: Status = Status.CREATED,
    method: Method = Method.SHIP,
    service_level: str = "standard",
) -> Seeded:
    """A fulfilling order whose whole quantity went to one fulfilment order at `location`,
    now in `status`, with an authorisation made and one routing decision. Written with the
    service's own repository, so the saga's columns (the channel too) are what it writes."""
    now = datetime.now(UTC) - timedelta(minutes=1)
    order_id = uuid4()
    order = order_snapshot(channel, method=method, service_level=service_level)
    saga = OrderSaga.start(order_id, order, now)
    saga.state, saga.due_at, saga.unrouted, saga.round = SagaState.FULFILLING, None, {}, 1
    shipped = status in (Status.SHIPPED, Status.DELIVERED)
    f = Fulfillment(
        id=uuid4(),
        order_id=order_id,
        location_code=location,
        method=method.value,
        status=status,
        lines=[FulfillmentLine("L1", "LAMP-001", 2, f"res-{order_id}")],
        created_at=now,
        updated_at=now,
        shipment=Shipment(f"shp-{order_id}", "dhl", "paket", "00340434161094042557", None, now)
        if shipped
        else None,
        history=[{"status": status.value, "at": now.isoformat(), "note": "seeded"}],
    )
    saga.fulfillments.append(f)
    saga.new_operations.append(
        PaymentOperation(
            id=uuid4(),
            order_id=order_id,
            kind=Kind.AUTHORIZE,
            amount=Decimal("44.90"),
            currency="EUR",
            created_at=now,
            next_attempt_at=now,
            status=OpStatus.SUCCEEDED,
            attempts=1,
            reference="auth-1",
            completed_at=now,
        )
    )
    async with container.session_factory() as session:
        repo = SagaRepository(session)
        repo.add(saga)
        repo.stage_decision(
            {
                "id": uuid4(),
                "order_id": order_id,
                "round": 1,
                "outcome": "routed",
                "strategy_version": 1,
                "explanation": f"{location}: seeded.",
                "decided_at": now,
                "body": {"candidates": [], "parts": [], "request": {}, "reason": None},
            }
        )
        await repo.flush()
        await repo.write_decisions()
        await session.commit()
    return Seeded(order_id, f.id, channel, location)
