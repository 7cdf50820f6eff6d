"""Notifications' backlog on `GET /metrics`, read at scrape time (libs.observability.metrics):
the webhook deliveries and the customer messages still pending, and the age of the oldest of
each. Both counts walk a partial index of the pending rows (the workers' own); the ages read
those rows alone. A delivery backing off from a failing endpoint is pending until its retry
window ends (3 days by default), so its age is the first sign of an endpoint that stopped
answering; the attempts' outcomes are counted in service_layer.handlers.metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy import Row, text

from libs.observability.metrics import ScrapeRead

_PENDING = text(
    "SELECT"
    " (SELECT count(*) FROM webhook_delivery WHERE status = 'pending') AS webhooks,"
    " (SELECT COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8"
    "  FROM webhook_delivery WHERE status = 'pending') AS webhook_age,"
    " (SELECT count(*) FROM notification WHERE status = 'pending') AS messages,"
    " (SELECT COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8"
    "  FROM notification WHERE status = 'pending') AS message_age"
)


def _pending_families(rows: Sequence[Row[Any]]) -> list[Metric]:
    row = rows[0]
    return [
        GaugeMetricFamily(
            "oms_webhook_deliveries_pending",
            "Webhook deliveries not yet delivered nor given up (in flight or backing off)",
            value=int(row.webhooks),
        ),
        GaugeMetricFamily(
            "oms_webhook_delivery_oldest_pending_age_seconds",
            "Age of the oldest pending webhook delivery (0 when there is none)",
            value=max(float(row.webhook_age), 0.0),
        ),
        GaugeMetricFamily(
            "oms_customer_messages_pending",
            "Customer e-mails and SMS not yet sent nor given up",
            value=int(row.messages),
        ),
        GaugeMetricFamily(
            "oms_customer_message_oldest_pending_age_seconds",
            "Age of the oldest pending customer e-mail or SMS (0 when there is none)",
            value=max(float(row.message_age), 0.0),
        ),
    ]


PENDING_READ = ScrapeRead(
    name="deliveries",
    query=_PENDING,
    families=_pending_families,
    names=(
        "oms_webhook_deliveries_pending",
        "oms_webhook_delivery_oldest_pending_age_seconds",
        "oms_customer_messages_pending",
        "oms_customer_message_oldest_pending_age_seconds",
    ),
    help="1 when this scrape could read the pending webhook deliveries and customer messages"
    " (their four families are then present), 0 when the database did not answer in time",
)
