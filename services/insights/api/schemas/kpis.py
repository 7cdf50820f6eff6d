"""The key-figure tables: each a page of flat rows (scalars only), so that the same URL with
`Accept: text/csv` answers the same rows as CSV. Rates are rounded to 4 decimals and null when
their denominator is 0; durations are seconds with 1 decimal, null when there is none; money
is a decimal string with its currency."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Rate = float | None
Seconds = float | None


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


R = TypeVar("R", bound=_Row)


class Table(BaseModel, Generic[R]):
    from_: datetime = Field(alias="from", description="Start of the period (inclusive, UTC)")
    to: datetime = Field(description="End of the period (exclusive)")
    granularity: str = Field(description="day or hour: the buckets' size (UTC)")
    rows: list[R]

    model_config = ConfigDict(populate_by_name=True)


class SummaryRow(_Row):
    orders_placed: int
    split_rate: Rate
    backorder_rate: Rate
    hold_rate: Rate
    cancellation_rate: Rate
    return_rate: Rate
    on_time_dispatch_rate: Rate
    order_to_ship_p50_s: Seconds
    order_to_ship_p90_s: Seconds
    order_to_delivery_p50_s: Seconds
    order_to_delivery_p90_s: Seconds
    refund_time_p50_s: Seconds
    refund_time_p90_s: Seconds


class OrdersRow(_Row):
    period_start: datetime
    channel: str
    currency: str
    orders_placed: int
    revenue: str = Field(description='The placed orders\' grand totals, e.g. "19.99"')


class RatesRow(_Row):
    period_start: datetime
    channel: str
    orders_placed: int
    split_orders: int
    split_rate: Rate
    backordered_orders: int
    backorder_rate: Rate
    held_orders: int
    hold_rate: Rate
    cancelled_orders: int
    cancellation_rate: Rate
    returned_orders: int
    return_rate: Rate


class LeadTimesRow(_Row):
    period_start: datetime
    channel: str
    orders_shipped: int
    order_to_ship_p50_s: Seconds
    order_to_ship_p90_s: Seconds
    dispatched_on_time: int
    on_time_dispatch_rate: Rate
    orders_delivered: int
    order_to_delivery_p50_s: Seconds
    order_to_delivery_p90_s: Seconds


class BackordersRow(_Row):
    period_start: datetime
    channel: str
    backordered_orders: int
    backorder_wait_p50_s: Seconds
    backorder_wait_p90_s: Seconds
    still_waiting: int


class HoldsRow(_Row):
    reason: str
    channel: str
    held_orders: int
    hold_rate: Rate


class ReturnsRow(_Row):
    sku: str
    reason: str
    returned_units: int
    shipped_units: int
    return_rate: Rate


class RefundsRow(_Row):
    period_start: datetime
    channel: str
    currency: str
    refunds: int
    refunded_amount: str
    refund_time_p50_s: Seconds
    refund_time_p90_s: Seconds


class LocationsRow(_Row):
    location: str
    fulfilments: int
    share: Rate
    units_shipped: int
    capacity_use: Rate = Field(
        description="Fulfilment orders per day of the period over the location's daily order "
        "capacity (location_changed); null when the location has no capacity limit or none "
        "was seen"
    )


class StockOutsRow(_Row):
    period_start: datetime
    sku: str
    location: str
    stock_outs: int


class LowStockRow(_Row):
    sku: str
    location: str
    available: int
    threshold: int | None = Field(
        description="The SKU's network low-stock threshold as its last low_stock alert said; "
        "null when none was seen"
    )
    out_of_stock: bool
    since: datetime | None


class LowStockTable(BaseModel):
    rows: list[LowStockRow]


# One named table per row type (its OpenAPI schema is <Name>Table, not Table_<Row>_).


class SummaryTable(Table[SummaryRow]):
    pass


class OrdersTable(Table[OrdersRow]):
    pass


class RatesTable(Table[RatesRow]):
    pass


class LeadTimesTable(Table[LeadTimesRow]):
    pass


class BackordersTable(Table[BackordersRow]):
    pass


class HoldsTable(Table[HoldsRow]):
    pass


class ReturnsTable(Table[ReturnsRow]):
    pass


class RefundsTable(Table[RefundsRow]):
    pass


class LocationsTable(Table[LocationsRow]):
    pass


class StockOutsTable(Table[StockOutsRow]):
    pass
