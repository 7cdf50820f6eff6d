"""What notifications refuses, each with a stable code."""

from __future__ import annotations

from libs.errors import Conflict, Forbidden, NotFound, Unprocessable


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    title = "No such webhook endpoint"


class InvalidWebhookUrl(Unprocessable):
    code = "invalid_webhook_url"
    title = "The webhook URL is not a URL an endpoint can have"


class InsecureWebhookUrl(Unprocessable):
    code = "insecure_webhook_url"
    title = "A webhook URL must use https outside development"


class PrivateWebhookTarget(Unprocessable):
    code = "private_webhook_target"
    title = "The webhook URL names a loopback, private or link-local host"


class UnknownEventType(Unprocessable):
    code = "unknown_event_type"
    title = "An event type (or pattern) matches no event the system publishes"


class InvalidWebhookSecret(Unprocessable):
    code = "invalid_webhook_secret"
    title = "A signing secret is not whsec_ and the base64 of 24 to 64 bytes"


class ChannelNotAllowed(Forbidden):
    code = "channel_not_allowed"
    title = "The token does not allow these channels"


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    title = "No such notification"


class NotificationOptedOut(Conflict):
    code = "notification_opted_out"
    title = "The order or its customer opted out of notifications"


class CustomerOrderNotFound(NotFound):
    code = "order_not_found"
    title = "No such order"
