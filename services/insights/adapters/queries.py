"""Read-side SQL for the insights API; returns plain read models defined in adapters, never the
API's schemas (the routes convert them)."""

from __future__ import annotations
