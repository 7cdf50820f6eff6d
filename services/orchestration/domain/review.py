"""Manual review: the rules that hold an order for a person before anything is reserved or
charged, versioned like the routing strategy (GET|PUT /v1/review-rules).

Every rule is off until it is given a value: a fresh installation reviews nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from services.orchestration.domain.order import ShipTo


@dataclass(frozen=True)
class ReviewRules:
    version: int = 1
    # An order whose grand total is above this (in its own currency) is reviewed.
    max_order_value: Decimal | None = None
    # An order billed in one country and shipped to another is reviewed.
    countries_must_match: bool = False
    # The fraud check's risk score (0-100) above which an order is reviewed; None: the
    # check is not made at all.
    max_risk_score: int | None = None
    # An order from a customer the OMS has not seen an order from before (by e-mail
    # address) whose grand total is above this (in its own currency) is reviewed.
    new_customer_max_value: Decimal | None = None
    # A shipped order whose ship-to address fails the address check is reviewed; False:
    # the check is not made at all.
    hold_invalid_addresses: bool = False


@dataclass(frozen=True)
class OrderFacts:
    """What the rules look at, gathered by the caller (the risk score and the address's
    problems only when a rule needs them)."""

    grand_total: Decimal
    currency: str
    ship_to_country: str
    billing_country: str | None
    risk_score: int | None = None  # None: not checked
    new_customer: bool = False  # the customer's first order the OMS has seen
    address_problems: tuple[str, ...] = ()  # empty: the address is fine, or not checked


def reasons_for_review(facts: OrderFacts, rules: ReviewRules) -> list[str]:
    """Why the order must be reviewed, one sentence a rule; empty when it need not be."""
    found = []
    money = f"{facts.grand_total} {facts.currency}"
    if rules.max_order_value is not None and facts.grand_total > rules.max_order_value:
        found.append(f"order value {money} above {rules.max_order_value}")
    if (
        rules.countries_must_match
        and facts.billing_country
        and facts.billing_country != facts.ship_to_country
    ):
        found.append(f"billed in {facts.billing_country} but shipped to {facts.ship_to_country}")
    if (
        rules.max_risk_score is not None
        and facts.risk_score is not None
        and facts.risk_score > rules.max_risk_score
    ):
        found.append(f"risk score {facts.risk_score} above {rules.max_risk_score}")
    if (
        rules.new_customer_max_value is not None
        and facts.new_customer
        and facts.grand_total > rules.new_customer_max_value
    ):
        found.append(f"new customer's first order {money} above {rules.new_customer_max_value}")
    if rules.hold_invalid_addresses and facts.address_problems:
        found.append(f"address failed validation: {', '.join(facts.address_problems)}")
    return found


def customer_key(email: str) -> str:
    """Who the customer is to the new-customer rule: the e-mail address, lower-cased (an
    empty one names nobody)."""
    return email.strip().lower()


class FraudCheck(Protocol):
    """A fraud-check provider: a risk score from 0 (none) to 100 for an order."""

    async def score(self, *, order_id: str, customer_email: str, grand_total: Decimal) -> int: ...


class AddressCheck(Protocol):
    """An address-validation provider: what is wrong with a ship-to address, one phrase a
    problem (`postal code 'ABC' is not a DE postal code`); empty when it is fine."""

    async def problems(self, address: ShipTo) -> list[str]: ...
