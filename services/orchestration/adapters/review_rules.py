"""Manual review's rules, versioned: every version is kept, so a hold names the one it used."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.db import versioned
from services.orchestration.adapters.tables import review_rules
from services.orchestration.domain.review import ReviewRules

# Served as version 1 (every rule off) until someone PUTs rules of their own.
DEFAULT = ReviewRules(version=1)
DEFAULT_CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def to_dict(rules: ReviewRules) -> dict[str, Any]:
    return {
        "max_order_value": _money(rules.max_order_value),
        "countries_must_match": rules.countries_must_match,
        "max_risk_score": rules.max_risk_score,
        "new_customer_max_value": _money(rules.new_customer_max_value),
        "hold_invalid_addresses": rules.hold_invalid_addresses,
    }


def from_dict(version: int, body: Mapping[str, Any]) -> ReviewRules:
    def money(key: str) -> Decimal | None:
        value = body.get(key)
        return None if value is None else Decimal(str(value))

    return ReviewRules(
        version=version,
        max_order_value=money("max_order_value"),
        countries_must_match=bool(body.get("countries_must_match", False)),
        max_risk_score=body.get("max_risk_score"),
        new_customer_max_value=money("new_customer_max_value"),
        hold_invalid_addresses=bool(body.get("hold_invalid_addresses", False)),
    )


async def current(session: AsyncSession) -> tuple[ReviewRules, datetime]:
    row = await versioned.latest(session, review_rules)
    if row is None:
        return DEFAULT, DEFAULT_CREATED_AT
    return from_dict(row.version, row.body), row.created_at


async def add(
    session: AsyncSession, body: Mapping[str, Any], now: datetime, expected_version: int | None
) -> int:
    return await versioned.add_version(
        session,
        review_rules,
        body,
        now,
        expected_version=expected_version,
        default_version=DEFAULT.version,
        what="review rules",
    )


class ReviewRuleVersions:
    """Manual review's rules' versions, for the unit of work (service_layer.unit_of_work)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def in_force(self) -> ReviewRules:
        return (await current(self._session))[0]

    async def add(
        self, body: Mapping[str, Any], now: datetime, expected_version: int | None
    ) -> int:
        return await add(self._session, body, now, expected_version)
