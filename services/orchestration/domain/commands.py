"""What orchestration is asked to do: by consumed events, by its worker, by its API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from libs.contracts import inventory as inv
from services.orchestration.domain.fulfillment import Action
from services.orchestration.domain.order import OrderSnapshot, ShipTo
from services.orchestration.domain.payments import ProviderResult
from services.orchestration.domain.routing.model import Method, RoutingDecision, RoutingRequest


@dataclass(frozen=True)
class StartSaga:
    order_id: UUID
    order: OrderSnapshot


@dataclass(frozen=True)
class RecordReservation:
    order_id: UUID
    reservation_id: str
    confirmed: bool
    lines: Sequence[inv.ReservedLine] = ()
    reason: str = ""


@dataclass(frozen=True)
class RecordBackorderAllocation:
    order_id: UUID
    reservation_id: str
    lines: Sequence[inv.StockLine]


@dataclass(frozen=True)
class CancelUnits:
    order_id: UUID
    quantities: Mapping[str, int] | None  # line id -> units; None: the whole order


@dataclass(frozen=True)
class ChangeDelivery:
    order_id: UUID
    ship_to: ShipTo
    method: Method
    service_level: str
    pickup_location: str | None


@dataclass(frozen=True)
class RequestRefund:
    order_id: UUID
    refund_id: str
    amount: Decimal
    lines: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ApplyRouting:
    order_id: UUID
    expected_round: int  # the round the worker planned for; a stale plan is dropped
    request: RoutingRequest
    decision: RoutingDecision
    # Location code -> (km to the customer or None, same country): kept for the carrier choice.
    geo: Mapping[str, tuple[float | None, bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class PostponeRouting:
    order_id: UUID
    expected_round: int
    error: str


@dataclass(frozen=True)
class SweepOverdue:
    """Compensate the saga longest past its deadline that no other transaction holds."""


@dataclass(frozen=True)
class RecordPaymentAnswer:
    operation_id: UUID
    result: ProviderResult | None  # None: the provider timed out, try again later


@dataclass(frozen=True)
class ActOnFulfillment:
    fulfillment_id: UUID
    action: Action
    reason: str | None = None
    picked: Mapping[str, int] | None = None  # line id -> units found; None: all of them
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    # Whose report it is: the channels and locations it may act on (None: any). A fulfilment
    # order outside them is not found, exactly like one that does not exist.
    channels: frozenset[str] | None = None
    locations: frozenset[str] | None = None


@dataclass(frozen=True)
class PutStrategy:
    body: Mapping[str, Any]
    expected_version: int | None = None
