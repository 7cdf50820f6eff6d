"""Identifiers: time-ordered UUIDv7, so primary keys index well and sort by creation."""

from __future__ import annotations

import uuid

import uuid6


def new_id() -> uuid.UUID:
    # uuid6 returns its own UUID subclass; normalise so equality and JSON stay plain.
    return uuid.UUID(bytes=uuid6.uuid7().bytes)
