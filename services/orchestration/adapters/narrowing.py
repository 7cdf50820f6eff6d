"""Which sagas and fulfilment orders a caller may see, as WHERE clauses from its token's claims.

A claim that is absent (`None`: a back office, another service) does not narrow; a set narrows
to its codes, and an empty set to nothing. The clauses go into the very query that reads or
locks an object, so an object outside the caller's channels or locations is not found, exactly
like one that does not exist. Queries on fulfilment orders join `order_saga` for the channel.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from libs.db.narrowing import Codes, within
from services.orchestration.adapters.tables import fulfillment_order, order_saga


def saga_visible(channels: Codes) -> ColumnElement[bool]:
    """Sagas (and everything else of an order) of the caller's channels."""
    return within(order_saga.c.channel, channels)


def location_visible(locations: Codes) -> ColumnElement[bool]:
    return within(fulfillment_order.c.location_code, locations)


def fulfillment_visible(channels: Codes, locations: Codes) -> ColumnElement[bool]:
    """Fulfilment orders of the caller's channels (its order's) at the caller's locations;
    the query must join `order_saga` on the order id."""
    return and_(saga_visible(channels), location_visible(locations))
