"""The delivery ledger's actions on deliveries already made: a retry, a replay since a time,
and a test ping. Plain rules; the handlers (service_layer/handlers/ledger.py) apply them.

- A delivery sent again keeps its webhook-id (the event's id), so a receiver that had it drops
  the repeat, and keeps its place among its order's deliveries: the worker still sends one
  order's events to an endpoint in the order they were recorded.
- A replay names where it starts as an RFC 3339 time with an offset: a time without one would
  be read in some time zone nobody chose, and one in the future replays nothing anyone meant.
- A ping is a small CloudEvent of its own type, queued for one endpoint only; no subscription
  ever matches it (no topic carries it).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from services.notifications.domain.errors import InvalidReplaySince

PING_EVENT_TYPE = "oms.webhook.ping"
PING_SOURCE = "/oms/notifications"

# RFC 3339's date-time (section 5.6): a full date, T, a full time and an offset (Z or +hh:mm).
# Python's own ISO parser takes far more (week dates, no separators, no offset).
_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)([Zz]|[+-]\d{2}:\d{2})$"
)
# fromisoformat takes at most microseconds.
_MAX_FRACTION_DIGITS = 6


def parse_since(text: str, now: datetime) -> datetime:
    """The replay's start, or InvalidReplaySince when it is not an RFC 3339 time with an offset
    or lies after `now`."""
    # A `+` sent unencoded in a query string arrives as a space; it can only have been the
    # offset's sign there, so it is read as one rather than refused.
    candidate = re.sub(r" (\d{2}:\d{2})$", r"+\1", text.strip())
    match = _RFC3339.match(candidate)
    if match is None:
        raise InvalidReplaySince(
            f"since must be an RFC 3339 time with an offset, such as 2026-12-05T10:00:00Z, "
            f"not {text!r}"
        )
    date, time, offset = match.groups()
    whole, _, fraction = time.partition(".")
    time = f"{whole}.{fraction[:_MAX_FRACTION_DIGITS]}" if fraction else whole
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        since = datetime.fromisoformat(f"{date}T{time}{offset}")
    except ValueError as exc:  # a 13th month, a 25th hour...
        raise InvalidReplaySince(f"since is not a real time: {text!r} ({exc})") from exc
    if since > now:
        raise InvalidReplaySince(
            f"since ({since.isoformat()}) is in the future: nothing was made after it yet"
        )
    return since


def ping_event(event_id: str, endpoint_id: UUID, at: datetime) -> dict[str, Any]:
    """The CloudEvent a test ping sends."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": PING_SOURCE,
        "type": PING_EVENT_TYPE,
        "time": at.isoformat(),
        "datacontenttype": "application/json",
        "data": {"endpoint_id": str(endpoint_id)},
    }
