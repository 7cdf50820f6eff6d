"""What happened to an order. Every event becomes a timeline entry; the `published` ones also
leave as integration events on oms.order.events, numbered by the order's own `sequence`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

ORDER_CAPTURE = "order-capture"


@dataclass(frozen=True)
class DomainEvent:
    published: ClassVar[bool] = True

    at: datetime
    source: str
    reason: str
    sequence: int = 0  # set by the order when it records the event (published ones only)


@dataclass(frozen=True)
class OrderPlaced(DomainEvent):
    pass


@dataclass(frozen=True)
class OrderUpdated(DomainEvent):
    changed_fields: tuple[str, ...] = ()

    @property
    def replan_required(self) -> bool:
        """Where the goods go or how they travel changed: unshipped work must be re-planned."""
        return bool({"shipping_address", "delivery"} & set(self.changed_fields))


@dataclass(frozen=True)
class CancellationRequested(DomainEvent):
    cancellation_id: str = ""
    requested_by: str = ""
    quantities: tuple[tuple[str, int], ...] = ()  # (line id, units cancelled)


@dataclass(frozen=True)
class OrderCancelled(DomainEvent):
    pass


@dataclass(frozen=True)
class StatusChanged(DomainEvent):
    previous_status: str = ""
    status: str = ""


@dataclass(frozen=True)
class PriorityChanged(DomainEvent):
    priority: str = ""
    previous_priority: str = ""


@dataclass(frozen=True)
class FactRecorded(DomainEvent):
    """Something another service reported (stock held, parcel shipped...): timeline only,
    since its source has already published it."""

    published: ClassVar[bool] = False

    kind: str = ""
    details: dict[str, Any] = field(default_factory=dict, hash=False)


# Every event an order records. messaging/publications.translate matches on it exhaustively,
# giving each its integration event and its timeline entry: an event type added here and not
# mapped there fails mypy, not a commit in production.
OrderEvent = (
    OrderPlaced
    | OrderUpdated
    | CancellationRequested
    | OrderCancelled
    | StatusChanged
    | PriorityChanged
    | FactRecorded
)
