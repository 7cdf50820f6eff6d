"""The SQLAlchemy unit of work of notifications: one transaction, the repositories on its
session, and the events of the endpoints it saw turned into outbox rows at each command's end.

How a domain event is published is not decided here: `translate` (domain event -> integration
event) is bound by bootstrap to messaging.publications.translate, so adapters never import
messaging."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Unpack

from libs.contracts.base import IntegrationEvent
from libs.db.idempotency import IdempotencyKeys
from libs.db.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkPlumbing
from services.notifications.adapters.notification_repository import (
    CustomerOrderRepository,
    NotificationRepository,
)
from services.notifications.adapters.repository import (
    DeliveryRepository,
    EndpointRepository,
    OrderChannels,
)
from services.notifications.adapters.secrets import RandomSecrets
from services.notifications.domain.delivery import RetryPolicy
from services.notifications.domain.events import NotificationEvent
from services.notifications.service_layer.unit_of_work import UnitOfWork

Translate = Callable[[NotificationEvent], IntegrationEvent]


class SqlUnitOfWork(SqlAlchemyUnitOfWork, UnitOfWork):
    endpoints: EndpointRepository
    deliveries: DeliveryRepository
    orders: OrderChannels
    secrets: RandomSecrets
    idempotency: IdempotencyKeys
    customer_orders: CustomerOrderRepository
    notifications: NotificationRepository
    translate: Translate  # bound by bootstrap: the published event of each domain event

    def __init__(
        self,
        *,
        retry_window: timedelta = RetryPolicy().window,
        **plumbing: Unpack[UnitOfWorkPlumbing],
    ) -> None:
        """`retry_window`: how long a new delivery is retried (the settings')."""
        super().__init__(**plumbing)
        self._retry_window = retry_window

    def start(self) -> None:
        self.endpoints = EndpointRepository(self.session)
        self.deliveries = DeliveryRepository(self.session, self._retry_window)
        self.orders = OrderChannels(self.session)
        self.secrets = RandomSecrets()
        self.customer_orders = CustomerOrderRepository(self.session)
        self.notifications = NotificationRepository(self.session)

    async def prepare(self, keys: Collection[str]) -> None:
        await self.orders.batch_of(keys)

    def collect_events(self) -> list[IntegrationEvent]:
        """What the endpoints of this unit of work announced, in order, to the outbox."""
        return [self.translate(e) for e in self.collect_new_events()]
