"""Which returned units inventory puts back on sale: those the returns policy sends to restock."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from libs.contracts.returns import ReturnedLine, ReturnReceived
from services.inventory.domain.commands import RestockReturn
from services.inventory.messaging.subscriptions import SUBSCRIPTIONS
from tests.support.events import envelope_of

NOW = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)
ORDER_ID = UUID(int=7)


def translate(*lines: ReturnedLine) -> RestockReturn:
    event = ReturnReceived(
        order_id=str(ORDER_ID),
        return_id="RMA-1",
        receipt_id="RCPT-1",
        location_code="WH-BER",
        lines=list(lines),
        received_at=NOW,
    )
    env = envelope_of(event, at=NOW)
    command = SUBSCRIPTIONS[event.topic][event.event_type](env)
    assert isinstance(command, RestockReturn)
    return command


def returned(sku: str | None, quantity: int, condition: str, disposition: str) -> ReturnedLine:
    return ReturnedLine(
        line_id=f"l-{sku}-{disposition}",
        quantity=quantity,
        condition=condition,
        sku=sku,
        disposition=disposition,
    )


def test_restocks_exactly_the_units_whose_disposition_is_restock() -> None:
    command = translate(
        returned("LAMP", 2, "resellable", "restock"),
        returned("LAMP", 1, "resellable", "restock"),
        returned("SHADE", 3, "resellable", "quarantine"),
        returned("BULB", 1, "damaged", "write_off"),
        returned(None, 4, "resellable", "restock"),
    )
    assert (command.order_id, command.receipt_id, command.location_code) == (
        ORDER_ID,
        "RCPT-1",
        "WH-BER",
    )
    assert command.lines == (("LAMP", 3),)


def test_a_resellable_unit_sent_to_quarantine_is_not_restocked() -> None:
    assert translate(returned("LAMP", 2, "resellable", "quarantine")).lines == ()


def test_the_policy_may_restock_a_unit_whatever_its_condition() -> None:
    assert translate(returned("LAMP", 1, "damaged", "restock")).lines == (("LAMP", 1),)
