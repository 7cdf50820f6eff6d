"""Manual review's new-customer rule on the fake unit of work: a started saga counts in its
customer's history (the first order is new, the next is not), an order without an e-mail
address counts for nobody, and the history is kept while the rule is off. Moved here from
tests/orchestration/integration/test_customer_history.py, whose batch and redelivery tests
stay on PostgreSQL (they rest on its statement and locks)."""

from __future__ import annotations

import dataclasses
from uuid import UUID, uuid4

import pytest

from services.orchestration.domain.commands import PutReviewRules, StartSaga
from tests.orchestration.unit.fakes import FakeBus
from tests.orchestration.unit.test_handlers_sagas import an_order, stocked


@pytest.fixture
async def container() -> FakeBus:
    """A location with the sample order's SKU: an order no rule holds is routed at once."""
    bus = FakeBus()
    await stocked(bus)
    return bus


@pytest.fixture
async def new_customers_reviewed(container: FakeBus) -> None:
    """A new customer's order above 10.00 (the sample order is 44.90) reviewed."""
    await container.handle(PutReviewRules({"new_customer_max_value": "10.00"}, None))


def start(order_id: UUID, email: str) -> StartSaga:
    return StartSaga(order_id, dataclasses.replace(an_order(), customer_email=email))


def an_email() -> str:
    return f"new.{uuid4().hex[:10]}@example.com"


async def held_for(container: FakeBus, order_id: UUID) -> str | None:
    """The detail of the order's review hold; None when it is not held for review."""
    assert order_id in container.storage.sagas, f"no saga for {order_id}"
    hold = container.storage.saga(order_id).hold
    return hold.detail if hold is not None and hold.reason.value == "review" else None


async def history(container: FakeBus, email: str) -> tuple[UUID, int] | None:
    """The customer's first order and how many orders were counted."""
    return container.storage.customers.get(email.lower())


async def test_a_first_order_is_new_and_the_second_is_not(
    container: FakeBus, new_customers_reviewed: None
) -> None:
    email = an_email()
    first, second = uuid4(), uuid4()

    await container.handle(start(first, email))
    await container.handle(start(second, email.upper()))  # the same customer

    assert await held_for(container, first) == "new customer's first order 44.90 EUR above 10.00"
    assert await held_for(container, second) is None
    assert await history(container, email) == (first, 2)


async def test_an_order_without_an_e_mail_address_counts_for_nobody(
    container: FakeBus, new_customers_reviewed: None
) -> None:
    order_id = uuid4()

    await container.handle(start(order_id, ""))

    assert await held_for(container, order_id) is None
    assert await history(container, "") is None


async def test_the_history_is_kept_while_the_rule_is_off(container: FakeBus) -> None:
    email, order_id = an_email(), uuid4()

    await container.handle(start(order_id, email))

    assert await history(container, email) == (order_id, 1)
    assert await held_for(container, order_id) is None
