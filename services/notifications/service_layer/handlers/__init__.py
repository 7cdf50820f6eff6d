"""Use cases of notifications, one module per area; each takes a command and an open unit of
work. The bus dispatches by command type."""

from __future__ import annotations

from collections.abc import Collection
from functools import partial

from libs.bus.message_bus import Handler
from services.notifications.domain import commands
from services.notifications.domain.delivery import RetryPolicy
from services.notifications.domain.notices import SMS_KINDS_BY_DEFAULT
from services.notifications.domain.notification_commands import (
    ResendNotification,
    SetNotificationPreference,
)
from services.notifications.service_layer.handlers import customer_messages, events, ledger
from services.notifications.service_layer.handlers.deliveries import record_attempt_handler
from services.notifications.service_layer.handlers.endpoints import EndpointHandlers, EndpointRules

# A consumed event writes its own deliveries and its own order's channel and parked events,
# nothing another record's handler locks: a consumer's batch of them may share a
# transaction (libs.bus.message_bus.MessageBus).
BATCHABLE = frozenset({commands.RecordEvent})


def handlers(
    rules: EndpointRules,
    retry_policy: RetryPolicy,
    sms_kinds: Collection[str] = SMS_KINDS_BY_DEFAULT,
) -> dict[type, Handler]:
    """`sms_kinds`: the notification kinds also texted to a customer with a phone number."""
    endpoints = EndpointHandlers(rules)
    return {
        commands.CreateEndpoint: endpoints.create,
        commands.UpdateEndpoint: endpoints.update,
        commands.DeleteEndpoint: endpoints.delete,
        commands.RotateSecret: endpoints.rotate_secret,
        commands.RecordEvent: partial(events.record_event, sms_kinds=frozenset(sms_kinds)),
        ResendNotification: customer_messages.resend,
        SetNotificationPreference: customer_messages.set_preference,
        commands.RecordAttempt: record_attempt_handler(retry_policy),
        commands.RetryDelivery: ledger.retry_delivery,
        commands.ReplayEndpoint: ledger.replay_endpoint,
        commands.PingEndpoint: ledger.ping_endpoint,
    }
