"""libs.messaging.wire.from_event: a domain event copied by name into its wire model, as the
explicit field-by-field call would copy it (messaging/publications.py relies on that)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel, Field, ValidationError

from libs.messaging.wire import from_event

AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


@dataclass(frozen=True)
class Line:
    line_id: str
    quantity: int


@dataclass(frozen=True)
class Shipped:
    order_id: str
    amount: Decimal
    lines: tuple[Line, ...]
    shipped_at: datetime
    kept_at_home: str = "a domain field the wire does not carry"


class WireLine(BaseModel):
    line_id: str
    quantity: int = Field(gt=0)


class WireShipped(BaseModel):
    order_id: str
    amount: Decimal
    lines: list[WireLine]
    carrier: str | None = None
    shipped_at: datetime


def shipped(*lines: Line) -> Shipped:
    return Shipped(order_id="o-1", amount=Decimal("12.30"), lines=lines, shipped_at=AT)


def test_is_the_explicit_copy_with_nested_parts_and_defaults() -> None:
    event = shipped(Line("l-1", 2), Line("l-2", 1))

    explicit = WireShipped(
        order_id=event.order_id,
        amount=event.amount,
        lines=[WireLine(line_id=ln.line_id, quantity=ln.quantity) for ln in event.lines],
        shipped_at=event.shipped_at,
    )

    wired = from_event(WireShipped, event, left_default=("carrier",))
    assert wired == explicit
    assert wired.model_dump_json() == explicit.model_dump_json()
    assert wired.carrier is None
    assert not hasattr(wired, "kept_at_home")


def test_validates_as_the_explicit_copy_does() -> None:
    with pytest.raises(ValidationError):
        from_event(WireShipped, shipped(Line("l-1", 0)), left_default=("carrier",))


class WireOrder(BaseModel):
    order_id: str
    carrier: str | None = None


def test_a_field_the_event_lacks_fails_even_when_the_model_has_a_default() -> None:
    # A domain field renamed (carrier -> courier) must not quietly publish carrier=None.
    @dataclass(frozen=True)
    class Renamed:
        order_id: str
        courier: str

    with pytest.raises(TypeError, match="carrier"):
        from_event(WireOrder, Renamed("o-1", "dhl"))


def test_a_field_left_to_its_default_must_really_be_missing() -> None:
    @dataclass(frozen=True)
    class HasCarrier:
        order_id: str
        carrier: str

    with pytest.raises(TypeError, match="not defaults"):
        from_event(WireOrder, HasCarrier("o-1", "dhl"), left_default=("carrier",))
