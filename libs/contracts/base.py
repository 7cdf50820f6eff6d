"""Base of every integration event: its CloudEvents type, topic, version and partition key."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

_REGISTRY: dict[str, type[IntegrationEvent]] = {}


class IntegrationEvent(BaseModel):
    """An event another service may consume. Evolves only by adding optional fields."""

    # Unknown fields are ignored so that a producer may add optional fields before consumers move.
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    topic: ClassVar[str]
    version: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            _REGISTRY[cls.event_type] = cls

    @property
    def partition_key(self) -> str:
        """The record key: the order id wherever an order is concerned."""
        raise NotImplementedError

    @property
    def subject(self) -> str:
        return self.partition_key


class OrderEvent(IntegrationEvent):
    """An event about one order: keyed by its id, so one order's events stay in order."""

    order_id: str

    @property
    def partition_key(self) -> str:
        return self.order_id


class OrderCommand(OrderEvent):
    """A command addressed to one service about one order: same envelope, same key, but sent
    to the receiver's commands topic and answered by the receiver's events."""


def event_class(event_type: str) -> type[IntegrationEvent] | None:
    return _REGISTRY.get(event_type)


def registered_events() -> dict[str, type[IntegrationEvent]]:
    return dict(_REGISTRY)
