"""What the returns routes share: the callers' scopes, the error answers, the lookup of a
return narrowed to the caller's channels, and the return label.

A return belongs to its order's channel: a caller narrowed to channels reads, lists, counts
and changes only the returns of those channels' orders (looked up narrowed in SQL before any
change), and gets any other return answered exactly like a missing one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import Response

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import ReadSessionDep, fingerprint
from libs.http.problems import problem_responses
from libs.labels import LabelContent, render_label
from libs.money import display_amount, minor_units
from services.returns.adapters import queries
from services.returns.api.schemas.returns import (
    ExchangeRead,
    LabelRead,
    ReceiptRead,
    RefundRead,
    ReturnLineRead,
    ReturnPage,
    ReturnRead,
    TimelineRead,
    _ReturnFields,
)
from services.returns.domain import commands
from services.returns.domain.errors import ActionNotAllowed, ReturnNotFound
from services.returns.domain.opening import WantedLine
from services.returns.domain.parts import Resolution
from services.returns.domain.rma import ReturnRequest

ACTION_ERRORS = problem_responses(404, 409, 422, 503)
PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}
}

Reader = Annotated[Principal, requires(Scope.ORDERS_READ)]
ReturnsWriter = Annotated[Principal, requires(Scope.RETURNS_WRITE)]
RefundsWriter = Annotated[Principal, requires(Scope.REFUNDS_WRITE)]


def open_command(body: _ReturnFields, **who: Any) -> commands.OpenReturn:
    res = body.resolution
    return commands.OpenReturn(
        lines=tuple(
            WantedLine(ln.line_id, ln.quantity, ln.reason, ln.comment) for ln in body.lines
        ),
        method=body.method,
        resolution=Resolution(res.type, res.replacement_sku, res.replacement_unit_price),
        location_code=body.location_code,
        fingerprint=fingerprint(body.model_dump(mode="json")),
        **who,
    )


async def visible(session: ReadSessionDep, return_id: UUID, caller: Principal) -> ReturnRequest:
    """The return, looked up narrowed to the caller's channels: another channel's return is
    answered exactly like a missing one."""
    found = await queries.get_return(session, return_id, channels=caller.channels)
    if found is None:
        raise ReturnNotFound(f"no return {return_id}")
    return found


async def check_visible(session: ReadSessionDep, return_id: UUID, caller: Principal) -> None:
    """Before a change: 404 unless the caller sees the return. A return never changes its
    order, nor an order its channel, so the check holds for the change that follows; the read
    transaction ends here, not to hold a second connection while the change runs."""
    await visible(session, return_id, caller)
    await session.rollback()


async def read(session: ReadSessionDep, return_id: UUID, caller: Principal) -> ReturnRead:
    return return_read(await visible(session, return_id, caller))


def return_page(page: queries.ReturnsPage) -> ReturnPage:
    return ReturnPage(items=[return_read(r) for r in page.items], next_cursor=page.next_cursor)


def _money(amount: Decimal, currency: str) -> Decimal:
    return display_amount(amount, minor_units(currency))


def return_read(r: ReturnRequest) -> ReturnRead:
    cur = r.currency
    res = r.resolution
    return ReturnRead(
        id=r.id,
        rma_number=r.rma_number,
        order_id=r.order_id,
        status=r.status.value,
        method=r.method.value,
        location_code=r.location_code,
        resolution={"type": res.kind.value}
        | ({"replacement_sku": res.replacement_sku} if res.replacement_sku else {}),
        currency=cur,
        policy_version=r.policy.version,
        lines=[
            ReturnLineRead(
                line_id=ln.line_id,
                sku=ln.sku,
                quantity=ln.quantity,
                reason=ln.reason.value,
                comment=ln.comment,
                received={c.value: n for c, n in ln.received.items()},
                settled=ln.settled,
            )
            for ln in r.lines
        ],
        label=LabelRead(
            carrier=r.label.carrier,
            service=r.label.service,
            tracking_number=r.label.tracking_number,
            paid_by=r.label.paid_by.value,
        )
        if r.label
        else None,
        receipts=[
            ReceiptRead(
                id=rc.id,
                location_code=rc.location_code,
                lines=[
                    {
                        "line_id": str(x.line_id),
                        "quantity": x.quantity,
                        "condition": x.condition.value,
                        "disposition": x.disposition.value,
                    }
                    for x in rc.lines
                ],
                received_at=rc.at,
            )
            for rc in r.receipts
        ],
        refunds=[
            RefundRead(
                id=f.id,
                method=f.method,
                status=f.status.value,
                amount=_money(f.amount, cur),
                breakdown=f.quote.as_dict(),
                requested_at=f.requested_at,
                settled_at=f.settled_at,
                reason=f.reason,
            )
            for f in r.refunds
        ],
        refunded_amount=_money(r.refunded_amount, cur),
        exchange=ExchangeRead(
            replacement_sku=r.exchange.sku,
            quantity=r.exchange.units,
            unit_price=_money(r.exchange.unit_price, cur),
            credit=_money(r.exchange.credit, cur),
            difference=_money(r.exchange.difference, cur),
            status=r.exchange.status,
            order_id=r.exchange.order_id,
            reason=r.exchange.reason,
        )
        if r.exchange
        else None,
        rejection_reason=r.rejection_reason,
        timeline=[TimelineRead(at=t.at, name=t.name, detail=t.detail) for t in r.timeline],
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


async def label_pdf(session: ReadSessionDep, r: ReturnRequest) -> Response:
    if r.label is None:
        raise ActionNotAllowed(f"return {r.rma_number} has no mail label")
    sender = await queries.sender_of(session, r.order_id)
    pdf = render_label(
        LabelContent(
            carrier=r.label.carrier,
            service=r.label.service,
            tracking_number=r.label.tracking_number,
            from_lines=sender,
            to_lines=("Returns centre", f"RMA {r.rma_number}"),
            title=f"RETURN {r.label.carrier.upper()}",
            reference_lines=(
                f"RMA {r.rma_number}",
                f"Postage paid by the {r.label.paid_by.value}",
            ),
        )
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="return-{r.rma_number}.pdf"'},
    )
