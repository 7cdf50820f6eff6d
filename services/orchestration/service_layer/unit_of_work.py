from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from uuid import UUID

from libs.contracts.base import IntegrationEvent
from libs.db.unit_of_work import SqlAlchemyUnitOfWork
from libs.ids import uuids_among
from libs.jobs import Wakeup
from services.orchestration.adapters import (
    carrier_rates,
    customer_history,
    review_rules,
    strategies,
)
from services.orchestration.adapters.repository import SagaRepository
from services.orchestration.adapters.routing_view import RoutingView
from services.orchestration.domain import commands
from services.orchestration.domain.carriers import RateTable
from services.orchestration.domain.events import DomainEvent
from services.orchestration.domain.review import (
    AddressCheck,
    FraudCheck,
    ReviewRules,
    customer_key,
)
from services.orchestration.domain.routing.model import Strategy
from services.orchestration.domain.saga import SagaPolicy
from services.orchestration.service_layer.faults import CrashPoints


class OrchestrationUnitOfWork(SqlAlchemyUnitOfWork):
    sagas: SagaRepository
    routing: RoutingView
    crash_points: CrashPoints | None = None  # armed only by the crash tests
    policy: SagaPolicy = SagaPolicy()  # the service's, set by the composition root
    # The saga worker's, set by the composition root: a committed saga may be due for work.
    worker_wakeup: Wakeup | None = None
    # How long after its placing an order the view cannot serve is asked about again rather
    # than held (service_layer.routing): the view may not have what serves it yet.
    routing_grace: timedelta = timedelta(seconds=30)
    # Manual review's fraud-check provider (domain.review.FraudCheck), set by the
    # composition root; asked only when a review rule needs a risk score.
    fraud_check: FraudCheck | None = None
    # Manual review's address check (domain.review.AddressCheck), set by the composition
    # root; asked only when the invalid-address rule is on.
    address_check: AddressCheck | None = None
    # The integration event each domain event of the sagas is published as
    # (messaging.publications.translate), set by the composition root: service_layer does
    # not import messaging.
    translate: Callable[[DomainEvent], IntegrationEvent]

    async def commit(self) -> None:
        await self.routing.flush()
        await self.sagas.flush()
        await self.sagas.write_decisions()
        steps = list(self.sagas.written_steps)
        if self.crash_points is not None:
            self.crash_points.at(steps, "before")
        await super().commit()
        if self.crash_points is not None:
            self.crash_points.at(steps, "after")
        if self.worker_wakeup is not None and self.sagas.seen:
            self.worker_wakeup.wake()

    def start(self) -> None:
        self.sagas = SagaRepository(self.session, self.policy)
        self.routing = RoutingView(self.session)
        self._strategy: Strategy | None = None
        self._review_rules: ReviewRules | None = None
        self._rate_table: RateTable | None = None
        # Customer (domain.review.customer_key) -> the first order the OMS saw of them, as
        # counted in this unit of work (None: not counted, the order's saga being there).
        self._first_orders: dict[str, UUID | None] = {}

    async def prepare(self, keys: Collection[str]) -> None:
        """A batch's sagas (the order ids among its keys) loaded and locked at once."""
        await self.sagas.lock_many(uuids_among(keys))

    async def lock_for(self, messages: Sequence[object]) -> None:
        """A batch placing several orders reads the view's stock of all their SKUs at once
        (each order would otherwise read its SKUs' rows at every location on its own), and
        counts its orders in their customers' history in one statement."""
        placed = [m for m in messages if isinstance(m, commands.StartSaga)]
        if len(placed) > 1:
            await self.routing.prefetch(line.sku for m in placed for line in m.order.lines)
        # The batch's customers counted at once, their rows locked in one order before any
        # handler runs; the sagas prepare() found are starts delivered again: not counted.
        await self._count_customers([m for m in placed if not self.sagas.holds(m.order_id)])

    async def first_order(self, cmd: commands.StartSaga) -> bool:
        """Whether the order is the first the OMS has seen from its customer (an order without
        an e-mail address is nobody's first). It counts in the customer's history once: a
        batch's orders all together before its handlers run (lock_for), a lone start's here."""
        key = customer_key(cmd.order.customer_email)
        if not key:
            return False
        if key not in self._first_orders:
            await self._count_customers([cmd])
        return self._first_orders.get(key) == cmd.order_id

    async def _count_customers(self, placed: Sequence[commands.StartSaga]) -> None:
        orders = [
            customer_history.Placed(key, m.order_id, m.order.placed_at)
            for m in placed
            if (key := customer_key(m.order.customer_email))
        ]
        if orders:
            # Every customer asked about is answered: None when its order was not counted.
            self._first_orders.update(dict.fromkeys(p.customer_key for p in orders))
            self._first_orders.update(await customer_history.record(self.session, orders))

    async def strategy(self) -> Strategy:
        """The routing strategy in force, read once per unit of work (a consumer's batch
        routes many orders with it)."""
        if self._strategy is None:
            self._strategy, _ = await strategies.current(self.session)
        return self._strategy

    async def review_rules(self) -> ReviewRules:
        """Manual review's rules in force, read once per unit of work."""
        if self._review_rules is None:
            self._review_rules, _ = await review_rules.current(self.session)
        return self._review_rules

    async def rate_table(self) -> RateTable:
        """The carrier rate table in force, read once per unit of work."""
        if self._rate_table is None:
            self._rate_table, _, _ = await carrier_rates.current(self.session)
        return self._rate_table

    def collect_events(self) -> list[IntegrationEvent]:
        """What the sagas of this unit of work announced, in order, to the outbox."""
        events: list[IntegrationEvent] = []
        for saga in self.sagas.seen:
            events.extend(map(self.translate, saga.events))
            saga.events.clear()
        return events
