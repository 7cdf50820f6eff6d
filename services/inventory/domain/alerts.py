"""Stock alerts per SKU: announced when the network's availability crosses a line, not on
every change, so subscribers hear about a shortage once."""

from __future__ import annotations

from enum import StrEnum


class Alert(StrEnum):
    LOW_STOCK = "low_stock"
    BACK_IN_STOCK = "back_in_stock"


def crossed(*, before: int, after: int, low_stock_threshold: int | None) -> list[Alert]:
    alerts = []
    if low_stock_threshold is not None and before > low_stock_threshold >= after:
        alerts.append(Alert.LOW_STOCK)
    if before == 0 and after > 0:
        alerts.append(Alert.BACK_IN_STOCK)
    return alerts
