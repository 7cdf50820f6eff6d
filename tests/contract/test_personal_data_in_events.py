"""Personal data travels only in the events that are about the customer.

Every event goes out on topics other teams read, and to webhook endpoints of third parties
(notifications sends the CloudEvent as it is). So a customer's name,
e-mail, phone or address is in an event only where the event type needs it: the order as
placed, and an edit of the customer or the shipping address. This test reads the committed
event schemas, and fails when a personal field appears in any other event type, naming it:
adding one is a decision (docs/events.md, "Personal data"), never an accident.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).parents[2] / "contracts" / "events"

# Property names that hold a person's data wherever they appear in an event's schema.
PERSONAL = frozenset(
    {
        "customer",
        "email",
        "customer_email",
        "phone",
        "shipping_address",
        "billing_address",
        "recipient",
        "token",
    }
)

# The event types that carry personal data, and which of it.
ALLOWED: dict[str, frozenset[str]] = {
    "oms.order.placed": frozenset(
        {
            "customer",
            "customer_email",
            "email",
            "phone",
            "shipping_address",
            "billing_address",
        }
    ),
    "oms.order.updated": frozenset({"customer", "email", "phone", "shipping_address"}),
    # The payment token, on oms.payments.commands: orchestration alone reads that topic, and
    # notifications never sends it anywhere (docs/security.md, the Kafka ACLs it needs).
    "oms.payments.authorize_with": frozenset({"token"}),
}


def personal_fields(schema: Any) -> Iterator[str]:
    """Every property name of PERSONAL anywhere in the schema ($defs and nesting included)."""
    if isinstance(schema, dict):
        for name, value in schema.items():
            if name == "properties" and isinstance(value, dict):
                yield from (field for field in value if field in PERSONAL)
            yield from personal_fields(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from personal_fields(value)


def event_schemas() -> Iterator[tuple[str, Any]]:
    for path in sorted(EVENTS.glob("*/*.json")):
        event_type = path.name.removesuffix(".json").rsplit(".v", 1)[0]
        yield event_type, json.loads(path.read_text())


@pytest.mark.parametrize(("event_type", "schema"), list(event_schemas()))
def test_personal_data_is_only_where_the_event_type_needs_it(event_type: str, schema: Any) -> None:
    found = set(personal_fields(schema))
    assert found <= ALLOWED.get(event_type, frozenset()), (
        f"{event_type} carries {sorted(found - ALLOWED.get(event_type, frozenset()))}: "
        "personal data in another event type is a decision (docs/events.md)"
    )


def test_the_guard_reads_the_schemas() -> None:
    """The placement does carry what it is allowed to: the test would pass on empty files."""
    schemas = dict(event_schemas())
    assert len(schemas) > 40
    assert set(personal_fields(schemas["oms.order.placed"])) >= {"customer", "shipping_address"}
