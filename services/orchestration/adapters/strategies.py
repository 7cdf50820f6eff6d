"""Routing strategies, versioned: every version is kept, so a decision names the one it used."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import versioned
from services.orchestration.adapters.tables import routing_strategy
from services.orchestration.domain.routing.model import NoRoutePolicy, Strategy, Weights

# Served as version 1 until someone PUTs a strategy of their own.
DEFAULT = Strategy(version=1)
DEFAULT_CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def to_dict(strategy: Strategy) -> dict[str, Any]:
    w = strategy.weights
    return {
        "weights": {
            "distance": w.distance,
            "shipping_cost": w.shipping_cost,
            "priority": w.priority,
            "parts": w.parts,
            "stock_depth": w.stock_depth,
        },
        "max_parts": strategy.max_parts,
        "allowed_destinations": {
            code: sorted(countries) for code, countries in strategy.allowed_destinations.items()
        },
        "no_route_policy": strategy.no_route_policy.value,
        "channel_policies": {ch: p.value for ch, p in strategy.channel_policies.items()},
    }


def from_dict(version: int, body: Mapping[str, Any]) -> Strategy:
    return Strategy(
        version=version,
        weights=Weights(**body["weights"]),
        max_parts=body["max_parts"],
        allowed_destinations={
            code: frozenset(countries) for code, countries in body["allowed_destinations"].items()
        },
        no_route_policy=NoRoutePolicy(body["no_route_policy"]),
        channel_policies={ch: NoRoutePolicy(p) for ch, p in body["channel_policies"].items()},
    )


async def current(session: AsyncSession) -> tuple[Strategy, datetime]:
    row = await versioned.latest(session, routing_strategy)
    if row is None:
        return DEFAULT, DEFAULT_CREATED_AT
    return from_dict(row.version, row.body), row.created_at


async def add(
    session: AsyncSession, body: Mapping[str, Any], now: datetime, expected_version: int | None
) -> int:
    return await versioned.add_version(
        session,
        routing_strategy,
        body,
        now,
        expected_version=expected_version,
        default_version=DEFAULT.version,
        what="strategy",
    )


class StrategyVersions:
    """The routing strategy's versions, for the unit of work (service_layer.unit_of_work)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def in_force(self) -> Strategy:
        return (await current(self._session))[0]

    async def add(
        self, body: Mapping[str, Any], now: datetime, expected_version: int | None
    ) -> int:
        return await add(self._session, body, now, expected_version)
