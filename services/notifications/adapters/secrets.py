"""Signing secrets from the operating system's random source."""

from __future__ import annotations

import secrets

from services.notifications.domain.secrets import MIN_BYTES, format_secret


class RandomSecrets:
    def new_secret(self) -> str:
        return format_secret(secrets.token_bytes(MIN_BYTES))
