"""Identifiers: time-ordered UUIDv7, so primary keys index well and sort by creation."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import uuid6


def new_id() -> uuid.UUID:
    # uuid6 returns its own UUID subclass; normalise so equality and JSON stay plain.
    return uuid.UUID(bytes=uuid6.uuid7().bytes)


def uuids_among(keys: Iterable[str]) -> list[uuid.UUID]:
    """The keys that are UUIDs (record keys: order ids, among SKUs and location codes)."""
    found = []
    for key in keys:
        try:
            found.append(uuid.UUID(key))
        except ValueError:
            continue
    return found
