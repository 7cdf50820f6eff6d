"""Which endpoints an event goes to, and what of it they are sent.

An endpoint names the event types it wants: an exact type (`oms.order.placed`), every type
under a prefix (`oms.order.*`, `oms.*`) or everything (`*`). With a channel filter it gets only
the events of those channels' orders: an event whose order's channel is not known (yet, or at
all: stock levels belong to no order) never goes to a filtered endpoint.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from services.notifications.domain.errors import UnknownEventType

EVERYTHING = "*"
WILDCARD_SUFFIX = ".*"
MAX_PATTERNS = 50


def pattern_matches(pattern: str, event_type: str) -> bool:
    if pattern == EVERYTHING:
        return True
    if pattern.endswith(WILDCARD_SUFFIX):
        return event_type.startswith(pattern[:-1])  # the prefix with its dot
    return pattern == event_type


def wants(patterns: Iterable[str], event_type: str) -> bool:
    return any(pattern_matches(p, event_type) for p in patterns)


def check_patterns(patterns: Sequence[str], known: Collection[str]) -> tuple[str, ...]:
    """The patterns, each once and in the order given, if each matches at least one known
    event type; else UnknownEventType naming those that match none (a typo would otherwise
    subscribe to nothing, silently)."""
    if not patterns:
        raise UnknownEventType("name at least one event type, or * for every event")
    if len(patterns) > MAX_PATTERNS:
        raise UnknownEventType(f"at most {MAX_PATTERNS} event types or patterns")
    unknown = [
        p
        for p in patterns
        if (p != EVERYTHING and "*" in p.removesuffix(WILDCARD_SUFFIX))
        or not any(pattern_matches(p, t) for t in known)
    ]
    if unknown:
        raise UnknownEventType(
            f"no event matches {', '.join(unknown)}: name a type such as oms.order.placed, "
            "a prefix such as oms.order.*, or *",
            unknown=unknown,
        )
    return tuple(dict.fromkeys(patterns))


class Subscriber(Protocol):
    """What matching reads of an endpoint."""

    @property
    def event_types(self) -> tuple[str, ...]: ...

    @property
    def channels(self) -> frozenset[str] | None: ...

    @property
    def receiving(self) -> bool: ...


E = TypeVar("E", bound=Subscriber)


@dataclass(frozen=True)
class EventFacts:
    """What matching reads of an event: its type and its order's channel (None: not known)."""

    event_type: str
    channel: str | None


def matches(endpoint: Subscriber, event: EventFacts) -> bool:
    if not endpoint.receiving or not wants(endpoint.event_types, event.event_type):
        return False
    if endpoint.channels is None:
        return True
    return event.channel is not None and event.channel in endpoint.channels


def matching(endpoints: Iterable[E], event: EventFacts) -> list[E]:
    """The endpoints the event goes to."""
    return [e for e in endpoints if matches(e, event)]


def waiting_for_channel(endpoints: Iterable[E], event_type: str) -> list[E]:
    """The channel-filtered endpoints an event of an order whose channel is not known yet
    may still go to, once it is."""
    return [
        e
        for e in endpoints
        if e.receiving and e.channels is not None and wants(e.event_types, event_type)
    ]


# Where payment tokens sat in an event's data (oms.order.placed v1; v2 has none): a v1 record
# still on the topic from before the change must not send one to a webhook, nor store it.
_SECRET_FIELDS: tuple[tuple[str, ...], ...] = (("payment", "token"),)


def webhook_payload(cloud_event: Mapping[str, Any]) -> dict[str, Any]:
    """The CloudEvent as a webhook sends it: everything but a payment token."""
    payload = deepcopy(dict(cloud_event))
    data = payload.get("data")
    if isinstance(data, dict):
        for *path, name in _SECRET_FIELDS:
            holder: Any = data
            for step in path:
                holder = holder.get(step) if isinstance(holder, dict) else None
            if isinstance(holder, dict):
                holder.pop(name, None)
    return payload
