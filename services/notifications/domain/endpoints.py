"""A webhook endpoint: where to send which events, and the secrets its deliveries are signed
with.

`enabled` is the client's switch; `status` is how delivering to it goes, which the service
decides: `active`, `failing` (deliveries are failing and being retried) or `disabled` (it
failed for too long and was switched off; enabling it again makes it active). An endpoint
receives events while it is enabled and not disabled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum, StrEnum
from uuid import UUID

from services.notifications.domain.errors import ChannelNotAllowed
from services.notifications.domain.events import NotificationEvent, WebhookEndpointDisabled
from services.notifications.domain.secrets import SigningSecret, rotated, signing_secrets


class EndpointStatus(StrEnum):
    ACTIVE = "active"
    FAILING = "failing"
    DISABLED = "disabled"


class Unset(Enum):
    """A field a change leaves as it is (None is a value: no channel filter)."""

    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True)
class EndpointChanges:
    url: str | Unset = UNSET
    event_types: tuple[str, ...] | Unset = UNSET
    channels: frozenset[str] | Unset | None = UNSET
    enabled: bool | Unset = UNSET
    description: str | Unset = UNSET


@dataclass
class WebhookEndpoint:
    id: UUID
    url: str
    event_types: tuple[str, ...]
    channels: frozenset[str] | None
    enabled: bool
    description: str
    status: EndpointStatus
    secrets: tuple[SigningSecret, ...]
    created_at: datetime
    updated_at: datetime
    version: int = 1
    # Since when deliveries to it fail (the first failed attempt after a success).
    failing_since: datetime | None = None
    events: list[NotificationEvent] = field(default_factory=list, compare=False)

    @property
    def receiving(self) -> bool:
        return self.enabled and self.status is not EndpointStatus.DISABLED

    @property
    def secret(self) -> SigningSecret:
        """The current secret: what a new delivery is signed with first."""
        return next(s for s in self.secrets if s.expires_at is None)

    def signing_secrets(self, now: datetime) -> list[str]:
        return signing_secrets(self.secrets, now)

    def change(self, changes: EndpointChanges, now: datetime) -> None:
        """The fields the change names; validated before (the URL against the target policy,
        the event types against the known ones, the channels against the caller's)."""
        if not isinstance(changes.url, Unset):
            self.url = changes.url
        if not isinstance(changes.event_types, Unset):
            self.event_types = changes.event_types
        if not isinstance(changes.channels, Unset):
            self.channels = changes.channels
        if not isinstance(changes.description, Unset):
            self.description = changes.description
        if not isinstance(changes.enabled, Unset):
            self.enabled = changes.enabled
            if changes.enabled and self.status is EndpointStatus.DISABLED:
                self.status = EndpointStatus.ACTIVE  # switched on again by the client
        self._touch(now)

    def rotate_secret(self, new_value: str, now: datetime, overlap: timedelta) -> None:
        self.secrets = rotated(self.secrets, new_value, now, overlap)
        self._touch(now)

    def delivered(self) -> None:
        """A delivery got through: whatever failed before, the endpoint works now."""
        self.failing_since = None
        if self.status is EndpointStatus.FAILING:
            self.status = EndpointStatus.ACTIVE
            self.version += 1

    def attempt_failed(
        self, now: datetime, *, out_of_retries: bool, disable_after: timedelta
    ) -> None:
        """An attempt failed: the endpoint is failing from the first such attempt; failing once
        a delivery ran out of retries; disabled once it failed for `disable_after`."""
        if self.failing_since is None:
            self.failing_since = now
        if out_of_retries and self.status is EndpointStatus.ACTIVE:
            self.status = EndpointStatus.FAILING
            self._touch(now)
        if now - self.failing_since >= disable_after:
            since = self.failing_since.isoformat(timespec="seconds")
            self.disable_for_failures(now, f"every delivery failed since {since}")

    def disable_for_failures(self, now: datetime, reason: str) -> None:
        """Deliveries failed for too long: no more are made until the client enables it."""
        if self.status is EndpointStatus.DISABLED:
            return
        self.status = EndpointStatus.DISABLED
        self._touch(now)
        self.events.append(WebhookEndpointDisabled(self.id, self.url, reason, now))

    def _touch(self, now: datetime) -> None:
        self.updated_at = now
        self.version += 1


def check_channels(wanted: frozenset[str] | None, allowed: frozenset[str] | None) -> None:
    """A caller narrowed to channels keeps its endpoints within them: it names a filter, and
    only channels of its own (an endpoint without a filter would receive every channel's
    events)."""
    if allowed is None:
        return
    if wanted is None:
        raise ChannelNotAllowed(
            "a token narrowed to channels names a channel filter within them",
            allowed=sorted(allowed),
        )
    if not wanted <= allowed:
        raise ChannelNotAllowed(
            f"the token does not allow the channels {', '.join(sorted(wanted - allowed))}",
            allowed=sorted(allowed),
        )


def visible_to(endpoint: WebhookEndpoint, allowed: frozenset[str] | None) -> bool:
    """Whether a caller narrowed to `allowed` channels sees the endpoint (the SQL of the
    reads says the same)."""
    if allowed is None:
        return True
    return endpoint.channels is not None and endpoint.channels <= allowed
