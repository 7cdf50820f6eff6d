"""Stock levels, adjustments, the ledger and per-SKU alert thresholds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from libs.auth.principal import Principal
from libs.auth.scopes import Scope
from libs.http.auth import requires
from libs.http.deps import BusDep, IdempotencyKeyDep, ReadSessionDep, fingerprint
from libs.http.pagination import DEFAULT_LIMIT
from libs.http.problems import problem_responses
from services.inventory.adapters import queries
from services.inventory.api.routes.common import Limit, LocationCodePath, SkuPath
from services.inventory.api.schemas.stock import (
    AdjustmentCreate,
    MovementPage,
    MovementRead,
    SkuPolicyRead,
    SkuPolicyUpdate,
    StockLevelUpdate,
    StockRead,
)
from services.inventory.domain import commands
from services.inventory.domain.errors import SkuNotFound
from services.inventory.domain.stock import Reason

router = APIRouter(tags=["stock"])


@router.put(
    "/locations/{location_code}/stock/{sku}",
    summary="Set a location's counted stock of a SKU",
    responses=problem_responses(404, 409, 413, 422, 503),
)
async def set_level(
    location_code: LocationCodePath,
    sku: SkuPath,
    body: StockLevelUpdate,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Annotated[Principal, requires(Scope.INVENTORY_ADJUST)],
) -> StockRead:
    """Record a counted on-hand quantity from a WMS or ERP sync (and, if sent, the safety
    stock). Reserved units stay reserved: 409 `on_hand_below_reserved` if the count is lower.
    404 for a location that does not exist or that the token's `locations` claim leaves out."""
    await bus.handle(
        commands.SetStockLevel(
            location_code=location_code,
            sku=sku,
            on_hand=body.on_hand,
            safety_stock=body.safety_stock,
            caller_locations=caller.locations,
        )
    )
    return await _stock(session, sku)


@router.post(
    "/stock/adjustments",
    status_code=201,
    summary="Adjust stock for a reason",
    responses=problem_responses(404, 409, 413, 422, 503),
)
async def adjust(
    body: AdjustmentCreate,
    response: Response,
    bus: BusDep,
    session: ReadSessionDep,
    caller: Annotated[Principal, requires(Scope.INVENTORY_ADJUST)],
    idempotency_key: IdempotencyKeyDep = None,
) -> MovementRead:
    """Add or remove on-hand units (received, damaged, lost, found, count_correction); the
    answer is the ledger entry written. 404 for a location that does not exist or that the
    token's `locations` claim leaves out."""
    movement_id = await bus.handle(
        commands.AdjustStock(
            location_code=body.location_code,
            sku=body.sku,
            delta=body.delta,
            reason=Reason(body.reason.value),
            note=body.note,
            caller_locations=caller.locations,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint(body.model_dump(mode="json")),
        )
    )
    found = await queries.movement(session, movement_id)
    assert found is not None
    response.headers["Location"] = f"/v1/stock/{body.sku}/movements"
    return MovementRead.model_validate(found, from_attributes=True)


@router.get(
    "/stock/{sku}",
    summary="Stock of a SKU per location and in total",
    responses=problem_responses(404, 422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def get(sku: SkuPath, session: ReadSessionDep) -> StockRead:
    """On hand, reserved, safety stock and available units of one SKU at every location."""
    return await _stock(session, sku)


@router.get(
    "/stock/{sku}/movements",
    summary="The ledger of a SKU",
    responses=problem_responses(422, 503),
    dependencies=[requires(Scope.INVENTORY_READ)],
)
async def movements(
    sku: SkuPath,
    session: ReadSessionDep,
    location_code: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> MovementPage:
    """Every change of the SKU's on-hand and reserved counters, newest first (append-only)."""
    found = await queries.movements(
        session, sku, limit=limit, cursor=cursor, location_code=location_code
    )
    return MovementPage.model_validate(found, from_attributes=True)


@router.put(
    "/skus/{sku}/policy",
    summary="Set a SKU's low-stock threshold",
    responses=problem_responses(413, 422, 503),
    dependencies=[requires(Scope.INVENTORY_ADJUST)],
)
async def set_policy(
    sku: SkuPath, body: SkuPolicyUpdate, bus: BusDep, session: ReadSessionDep
) -> SkuPolicyRead:
    """oms.inventory.low_stock is announced when the network's available units fall to or
    below the threshold; back_in_stock when they rise from zero."""
    await bus.handle(commands.SetSkuPolicy(sku=sku, low_stock_threshold=body.low_stock_threshold))
    found = await queries.sku_policy_of(session, sku)
    return SkuPolicyRead.model_validate(found, from_attributes=True)


async def _stock(session: ReadSessionDep, sku: str) -> StockRead:
    found = await queries.stock_of(session, sku)
    if found is None:
        raise SkuNotFound(f"no stock recorded for SKU {sku}")
    return StockRead.model_validate(found, from_attributes=True)
