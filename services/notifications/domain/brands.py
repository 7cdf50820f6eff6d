"""The brand a customer sees in a message: per sales channel, over a default.

A shop selling through several channels (its web shop, a marketplace, a second label) writes
to each channel's customers under that channel's name, colours and addresses. The default
brand says everything; a channel's override names only what differs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from zoneinfo import ZoneInfo

# The colour goes into a CSS `style` attribute, where HTML autoescaping does not protect:
# only a plain hex colour may go there.
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# Addresses are checked for shape only, enough to keep a typo in the configuration out of a
# From header (and no CR/LF, which would let a value add headers).
_EMAIL = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+")


class BrandError(ValueError):
    """The brand configuration is unusable; raised when it is loaded, not when a mail goes."""


@dataclass(frozen=True)
class Brand:
    name: str
    colour: str
    logo_url: str
    support_email: str
    from_address: str
    website_url: str
    # Dates in a message are the customer's calendar days in this zone.
    timezone: str = "Europe/Berlin"

    def __post_init__(self) -> None:
        if not self.name.strip() or "\n" in self.name or "\r" in self.name:
            raise BrandError(f"brand name {self.name!r} must be one non-empty line")
        if not _HEX_COLOUR.fullmatch(self.colour):
            raise BrandError(f"brand colour {self.colour!r} must be #rrggbb")
        for label, url in (("logo_url", self.logo_url), ("website_url", self.website_url)):
            if not url.startswith(("https://", "http://")):
                raise BrandError(f"brand {label} {url!r} must be an http(s) URL")
        for label, address in (
            ("support_email", self.support_email),
            ("from_address", self.from_address),
        ):
            if not _EMAIL.fullmatch(address):
                raise BrandError(f"brand {label} {address!r} is not an e-mail address")
        try:
            ZoneInfo(self.timezone)
        except (KeyError, ValueError) as exc:
            raise BrandError(f"brand timezone {self.timezone!r} is unknown") from exc

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_BRAND_FIELDS = frozenset(f.name for f in fields(Brand))


@dataclass(frozen=True)
class BrandBook:
    """The default brand and each channel's, resolved once when the configuration loads."""

    default: Brand
    channels: Mapping[str, Brand] = field(default_factory=dict)

    def for_channel(self, channel: str | None) -> Brand:
        if channel is None:
            return self.default
        return self.channels.get(channel, self.default)


def brand_book(default: Mapping[str, str], overrides: Mapping[str, Mapping[str, str]]) -> BrandBook:
    """A book from plain mappings (as a configuration file holds them): every channel's brand is
    the default with the channel's fields over it. Unknown fields are refused, so a misspelt
    `color` is not silently ignored."""
    for where, values in (("default", default), *overrides.items()):
        unknown = sorted(set(values) - _BRAND_FIELDS)
        if unknown:
            raise BrandError(f"brand {where!r}: unknown field(s) {unknown}")
    missing = sorted(
        f.name for f in fields(Brand) if f.name not in default and f.name != "timezone"
    )
    if missing:
        raise BrandError(f"the default brand lacks {missing}")
    base = Brand(**default)
    return BrandBook(
        default=base,
        channels={channel: replace(base, **values) for channel, values in overrides.items()},
    )
