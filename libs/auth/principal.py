"""Who is calling, as a verified token says: its client id, scopes and the data it may touch."""

from __future__ import annotations

from dataclasses import dataclass

from libs.auth.scopes import Scope


@dataclass(frozen=True)
class Principal:
    """`channels` and `locations` narrow what the client sees and changes; `None` means the
    token carries no such claim, so the client is not narrowed on that axis (a back office,
    another service). An empty set is a claim that allows nothing."""

    client_id: str
    scopes: frozenset[str]
    channels: frozenset[str] | None = None
    locations: frozenset[str] | None = None

    def allows(self, scope: Scope | str) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes

    def sees_channel(self, channel: str) -> bool:
        return self.channels is None or channel in self.channels

    def sees_location(self, location: str) -> bool:
        return self.locations is None or location in self.locations
