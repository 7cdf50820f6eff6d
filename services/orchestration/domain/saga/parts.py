"""The parts of the saga's events: routed parts and line quantities, built from its units."""

from __future__ import annotations

from collections.abc import Sequence

from services.orchestration.domain import events as ev
from services.orchestration.domain.fulfillment import FulfillmentLine
from services.orchestration.domain.saga.state import Held


def routed_part(
    code: str,
    lines: tuple[ev.SkuLineQuantity, ...],
    backordered: int,
    carrier: str | None,
    service: str | None,
) -> ev.RoutedPart:
    return ev.RoutedPart(
        location_code=code, lines=lines, backordered=backordered, carrier=carrier, service=service
    )


def parts_of(held: Sequence[Held], reservation_id: str) -> tuple[ev.RoutedPart, ...]:
    by_location: dict[str, list[Held]] = {}
    for h in held:
        if h.reservation_id == reservation_id:
            by_location.setdefault(h.location_code, []).append(h)
    return tuple(
        routed_part(
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
