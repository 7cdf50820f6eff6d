"""Stock alerts: announced when network availability crosses a line, not on every change."""

from __future__ import annotations

import pytest

from services.inventory.domain.alerts import Alert, crossed


class TestCrossed:
    @pytest.mark.parametrize(
        ("before", "after", "threshold", "alerts"),
        [
            (11, 10, 10, [Alert.LOW_STOCK]),
            (20, 3, 10, [Alert.LOW_STOCK]),
            (10, 9, 10, []),
            (12, 11, 10, []),
            (9, 12, 10, []),
            (5, 0, None, []),
            (0, 4, None, [Alert.BACK_IN_STOCK]),
            (0, 4, 10, [Alert.BACK_IN_STOCK]),
            (0, 0, 10, []),
            (3, 4, None, []),
            (1, 0, 0, [Alert.LOW_STOCK]),
        ],
    )
    def test_an_alert_only_when_the_line_is_crossed(
        self, before: int, after: int, threshold: int | None, alerts: list[Alert]
    ) -> None:
        assert crossed(before=before, after=after, low_stock_threshold=threshold) == alerts
