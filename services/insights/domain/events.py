"""What happened in insights, as the domain records it. Insights publishes no event of its own:
it reads the others' (a projection), so the union of its events is empty."""

from __future__ import annotations

from typing import Never

# Every event insights records: none.
InsightsEvent = Never
