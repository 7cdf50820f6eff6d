"""What insights consumes: the business events its projection is made of."""

from __future__ import annotations

from libs.messaging.consumer import Subscriptions
from libs.registry import service

CONSUMED_TOPICS = service("insights").consumes

SUBSCRIPTIONS: Subscriptions = {topic: {} for topic in CONSUMED_TOPICS}
