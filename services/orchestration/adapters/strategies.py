"""Routing strategies, versioned: every version is kept, so a decision names the one it used."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.errors import PreconditionFailed
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
    row = (
        await session.execute(
            select(routing_strategy).order_by(routing_strategy.c.version.desc()).limit(1)
        )
    ).one_or_none()
    if row is None:
        return DEFAULT, DEFAULT_CREATED_AT
    return from_dict(row.version, row.body), row.created_at


async def add(
    session: AsyncSession, body: Mapping[str, Any], now: datetime, expected_version: int | None
) -> int:
    """Store the next version; the table lock makes concurrent PUTs take turns, so the
    If-Match check and the insert see the same latest version."""
    await session.execute(text("LOCK TABLE routing_strategy IN SHARE ROW EXCLUSIVE MODE"))
    latest = (await session.scalar(select(func.max(routing_strategy.c.version)))) or DEFAULT.version
    if expected_version is not None and expected_version != latest:
        raise PreconditionFailed(f"the strategy is at version {latest}")
    version = latest + 1
    await session.execute(
        insert(routing_strategy).values(version=version, body=dict(body), created_at=now)
    )
    return version
