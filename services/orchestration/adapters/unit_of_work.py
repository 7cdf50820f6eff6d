"""The unit of work on PostgreSQL: one transaction, the outbox rows of what the sagas
announced, one commit (libs.db.unit_of_work), with orchestration's ports on its session."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import timedelta
from typing import Unpack

from libs.contracts.base import IntegrationEvent
from libs.db.idempotency import IdempotencyKeys
from libs.db.unit_of_work import SqlAlchemyUnitOfWork, UnitOfWorkPlumbing
from libs.ids import uuids_among
from libs.jobs import Wakeup
from services.orchestration.adapters.carrier_rates import RateTableVersions
from services.orchestration.adapters.customer_history import CustomerHistoryTable
from services.orchestration.adapters.metrics import holds_committed
from services.orchestration.adapters.payment_tokens import PaymentTokenTable
from services.orchestration.adapters.repository import SagaRepository
from services.orchestration.adapters.review_rules import ReviewRuleVersions
from services.orchestration.adapters.routing_view import RoutingView
from services.orchestration.adapters.strategies import StrategyVersions
from services.orchestration.domain import commands
from services.orchestration.domain.events import DomainEvent, OrderOnHold
from services.orchestration.domain.review import AddressCheck, FraudCheck
from services.orchestration.domain.saga import SagaPolicy
from services.orchestration.service_layer.handlers.faults import CrashPoints
from services.orchestration.service_layer.unit_of_work import UnitOfWork

Translate = Callable[[DomainEvent], IntegrationEvent]


class PostgresUnitOfWork(SqlAlchemyUnitOfWork, UnitOfWork):
    sagas: SagaRepository
    routing: RoutingView
    payment_tokens: PaymentTokenTable
    idempotency: IdempotencyKeys

    def __init__(
        self,
        *,
        translate: Translate,
        policy: SagaPolicy,
        routing_grace: timedelta,
        fraud_check: FraudCheck | None,
        address_check: AddressCheck | None,
        crash_points: CrashPoints | None = None,
        worker_wakeup: Wakeup | None = None,
        **plumbing: Unpack[UnitOfWorkPlumbing],
    ) -> None:
        """`translate`: the integration event published for each domain event of the sagas
        (messaging.publications.translate). `crash_points`: armed only by the crash tests.
        `worker_wakeup`: the saga worker's, told that a committed saga may be due for work.
        The rest as the abstract unit of work says."""
        super().__init__(**plumbing)
        self._translate = translate
        self.policy = policy
        self.routing_grace = routing_grace
        self.fraud_check = fraud_check
        self.address_check = address_check
        self.crash_points = crash_points
        self.worker_wakeup = worker_wakeup
        # The reason codes of the holds staged, counted once their transaction committed.
        self._holds: list[str] = []

    async def commit(self) -> None:
        await self.routing.flush()
        await self.sagas.flush()
        await self.sagas.write_decisions()
        await self.payment_tokens.flush()
        steps = list(self.sagas.written_steps)
        if self.crash_points is not None:
            self.crash_points.at(steps, "before")
        await super().commit()
        holds, self._holds = self._holds, []
        holds_committed(holds)
        if self.crash_points is not None:
            self.crash_points.at(steps, "after")
        if self.worker_wakeup is not None and self.sagas.seen:
            self.worker_wakeup.wake()

    async def rollback(self) -> None:
        self._holds = []
        await super().rollback()

    def start(self) -> None:
        self._holds = []
        self.sagas = SagaRepository(self.session, self.policy)
        self.routing = RoutingView(self.session)
        self.strategies = StrategyVersions(self.session)
        self.review_rule_versions = ReviewRuleVersions(self.session)
        self.carrier_rates = RateTableVersions(self.session)
        self.customers = CustomerHistoryTable(self.session)
        self.payment_tokens = PaymentTokenTable(self.session)
        self.forget_reads()

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
        await self.count_customers([m for m in placed if not self.sagas.holds(m.order_id)])

    def collect_events(self) -> list[IntegrationEvent]:
        """What the sagas of this unit of work announced, in order, to the outbox."""
        events: list[IntegrationEvent] = []
        for saga in self.sagas.seen:
            self._holds.extend(e.reason_code for e in saga.events if isinstance(e, OrderOnHold))
            events.extend(map(self._translate, saga.events))
            saga.events.clear()
        return events
