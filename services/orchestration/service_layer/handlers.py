"""Use cases of orchestration: each takes a command and an open unit of work."""

from __future__ import annotations

from libs.bus.message_bus import Handler
from services.orchestration.domain import commands
from services.orchestration.domain.model import OrderSaga
from services.orchestration.service_layer.unit_of_work import OrchestrationUnitOfWork


async def start_order_saga(cmd: commands.StartOrderSaga, uow: OrchestrationUnitOfWork) -> None:
    """A placed order starts its saga (once, whatever the redeliveries)."""
    saga = OrderSaga.start(
        order_id=cmd.order_id, order_number=cmd.order_number, now=uow.clock.now()
    )
    if not await uow.sagas.add_if_new(saga):
        await uow.sagas.fill_order_number(cmd.order_id, cmd.order_number)


async def record_reservation_outcome(
    cmd: commands.RecordReservationOutcome, uow: OrchestrationUnitOfWork
) -> None:
    """Inventory answered the order's reservation: the saga moves on."""
    now = uow.clock.now()
    saga = await uow.sagas.get_for_update(cmd.order_id)
    if saga is None:
        # The answer overtook the placed event (two topics are not ordered together, e.g. after
        # downtime): start the saga here; the placed event then only fills in the number.
        saga = OrderSaga.start(order_id=cmd.order_id, order_number="", now=now)
        saga.record_reservation(reserved=cmd.reserved, detail=cmd.detail, now=now)
        await uow.sagas.add_if_new(saga)
        return
    saga.record_reservation(reserved=cmd.reserved, detail=cmd.detail, now=now)
    await uow.sagas.save(saga)


HANDLERS: dict[type, Handler] = {
    commands.StartOrderSaga: start_order_saga,
    commands.RecordReservationOutcome: record_reservation_outcome,
}
