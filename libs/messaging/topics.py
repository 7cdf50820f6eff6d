"""Every topic of the system, its owner and its partition count. One owner per topic."""

from __future__ import annotations

from dataclasses import dataclass

ORDER_EVENTS = "oms.order.events"
INVENTORY_EVENTS = "oms.inventory.events"
INVENTORY_COMMANDS = "oms.inventory.commands"
ORCHESTRATION_EVENTS = "oms.orchestration.events"
RETURNS_EVENTS = "oms.returns.events"
NOTIFICATIONS_EVENTS = "oms.notifications.events"
# Payment tokens, from order-capture to orchestration alone: no other service subscribes, and in
# production only orchestration's principal may read it (docs/security.md#payment-tokens).
PAYMENT_COMMANDS = "oms.payments.commands"

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    owner: str
    partitions: int
    key: str


# Order-keyed topics get 6 partitions: per-order ordering holds within one, and a consumer
# group can spread over up to 6 instances.
TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(ORDER_EVENTS, "order-capture", 6, "order id"),
    TopicSpec(INVENTORY_EVENTS, "inventory", 6, "order id, or the SKU for stock levels"),
    TopicSpec(INVENTORY_COMMANDS, "inventory", 6, "order id"),
    TopicSpec(ORCHESTRATION_EVENTS, "orchestration", 6, "order id"),
    TopicSpec(RETURNS_EVENTS, "returns", 6, "order id"),
    TopicSpec(NOTIFICATIONS_EVENTS, "notifications", 6, "webhook endpoint id"),
    TopicSpec(PAYMENT_COMMANDS, "orchestration", 6, "order id"),
)


def dlq_of(topic: str) -> str:
    return topic + DLQ_SUFFIX


def all_topic_names() -> list[str]:
    """Main topics and their dead-letter topics, as created at start-up."""
    return [name for spec in TOPICS for name in (spec.name, dlq_of(spec.name))]


def partitions_of(name: str) -> int:
    for spec in TOPICS:
        if name == spec.name:
            return spec.partitions
    # Dead letters are rare and read by people; one partition keeps them in arrival order.
    return 1


@dataclass(frozen=True)
class TopicNamer:
    """Maps logical topic names to the broker's names (identical unless a test prefix is set)."""

    prefix: str = ""

    def physical(self, logical: str) -> str:
        return self.prefix + logical

    def logical(self, physical: str) -> str:
        return physical.removeprefix(self.prefix)
