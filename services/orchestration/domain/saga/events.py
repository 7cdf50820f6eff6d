"""Module-level helpers that build the saga's event parts and step descriptions."""

from __future__ import annotations

from collections.abc import Sequence

from services.orchestration.domain import commands
from services.orchestration.domain import events as ev
from services.orchestration.domain.fulfillment import FulfillmentLine
from services.orchestration.domain.saga.state import Held


def _routed_part(
    code: str,
    lines: tuple[ev.SkuLineQuantity, ...],
    backordered: int,
    carrier: str | None,
    service: str | None,
) -> ev.RoutedPart:
    return ev.RoutedPart(
        location_code=code, lines=lines, backordered=backordered, carrier=carrier, service=service
    )


def _parts_of(held: Sequence[Held], reservation_id: str) -> tuple[ev.RoutedPart, ...]:
    by_location: dict[str, list[Held]] = {}
    for h in held:
        if h.reservation_id == reservation_id:
            by_location.setdefault(h.location_code, []).append(h)
    return tuple(
        _routed_part(
            code,
            tuple(
                ev.SkuLineQuantity(line_id=h.line_id, sku=h.sku, quantity=h.quantity) for h in hs
            ),
            sum(h.backordered for h in hs),
            None,
            None,
        )
        for code, hs in sorted(by_location.items())
    )


def line_quantities(lines: Sequence[FulfillmentLine]) -> tuple[ev.LineQuantity, ...]:
    """The lines that still have units, as events name them."""
    return tuple(
        ev.LineQuantity(line_id=ln.line_id, quantity=ln.quantity) for ln in lines if ln.quantity > 0
    )


def _describe(held: Sequence[Held]) -> str:
    return ", ".join(f"{h.quantity} x {h.sku} at {h.location_code}" for h in held)


def _describe_stock(lines: Sequence[commands.StockLine]) -> str:
    return ", ".join(f"{ln.quantity} x {ln.sku} at {ln.location_code}" for ln in lines)


def _units(units: Sequence[FulfillmentLine]) -> int:
    return sum(u.quantity for u in units)
