"""Notifications' counters on `GET /metrics` (libs.observability.metrics), counted once an
outcome is recorded (an attempt whose outcome a dying process never recorded is made again,
and counted then). Labelled by outcome and by bounded sets alone: an endpoint or a recipient
per series would grow without end.

- `oms_webhook_attempts_total{outcome}`: webhook delivery attempts: `delivered`, `retry` (a
  failed attempt that will be tried again) or `failed` (a failed attempt that was the
  delivery's last: out of retries);
- `oms_customer_messages_total{medium,kind,outcome}`: customer e-mails and SMS: `sent`,
  `retry` (a transient failure, tried again later), `failed` (for good) or `suppressed` (the
  customer opted out). A message waiting for its order's placement is not an attempt.
"""

from __future__ import annotations

from prometheus_client import Counter

WEBHOOK_ATTEMPTS = Counter(
    "oms_webhook_attempts",
    "Webhook delivery attempts recorded, by outcome: delivered, retry (to be tried again) or"
    " failed (the last attempt: out of retries)",
    ["outcome"],
)
CUSTOMER_MESSAGES = Counter(
    "oms_customer_messages",
    "Customer e-mails and SMS handled, by medium, kind and outcome: sent, retry (a transient"
    " failure), failed (for good) or suppressed (opted out)",
    ["medium", "kind", "outcome"],
)


def webhook_attempt(outcome: str) -> None:
    WEBHOOK_ATTEMPTS.labels(outcome).inc()


def customer_message(medium: str, kind: str, outcome: str) -> None:
    CUSTOMER_MESSAGES.labels(medium, kind, outcome).inc()
