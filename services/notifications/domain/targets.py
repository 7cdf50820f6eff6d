"""Where a webhook may be sent: the URL rules, checked when an endpoint is created or changed.

A webhook is a request our servers make to an address a client chose, so a client could aim
it at what only our network reaches (a database's port, a cloud's metadata service): server-side
request forgery. Outside development, an endpoint's host may therefore be neither a loopback,
private, link-local, multicast, reserved nor unspecified address, nor a name that means this
machine (`localhost`). A name is not resolved here: what it resolves to can change after the
check (DNS rebinding), so the delivery worker checks the address it connects to as well.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from services.notifications.domain.errors import (
    InsecureWebhookUrl,
    InvalidWebhookUrl,
    PrivateWebhookTarget,
)

MAX_URL_LENGTH = 2048
_LOCAL_NAMES = ("localhost", "localhost.localdomain")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal")


@dataclass(frozen=True)
class TargetPolicy:
    """`require_https`: plain http is refused (outside development and test).
    `allow_private`: loopback and private addresses are allowed (development only)."""

    require_https: bool = True
    allow_private: bool = False


def check_url(url: str, policy: TargetPolicy) -> str:
    """The URL, if an endpoint may be sent to it; else InvalidWebhookUrl (not a usable URL),
    InsecureWebhookUrl (http where https is required) or PrivateWebhookTarget (SSRF)."""
    if len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        raise InvalidWebhookUrl("the URL is too long or contains white space")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a port out of range
    except ValueError as exc:
        raise InvalidWebhookUrl(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise InvalidWebhookUrl("a webhook URL is https:// (or http:// in development)")
    if scheme == "http" and policy.require_https:
        raise InsecureWebhookUrl("a webhook URL must use https outside development")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidWebhookUrl("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("a webhook URL carries no credentials; the signature proves us")
    if parts.fragment:
        raise InvalidWebhookUrl("a webhook URL has no #fragment (it is never sent)")
    if port == 0:
        raise InvalidWebhookUrl("port 0 is not a port to send to")
    if not policy.allow_private and is_private_host(host):
        raise PrivateWebhookTarget(
            f"{host} is a loopback, private, link-local or reserved address, refused outside "
            "development"
        )
    return url


def is_private_host(host: str) -> bool:
    """True for a host that names this machine or a network not on the public internet."""
    name = host.lower()
    if name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES):
        return True
    address = _address_of(name)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def _address_of(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host literally is, None for a name. IPv4's legacy forms count
    (`127.1`, `0x7f.0.0.1`, `2130706433`): resolvers and HTTP clients read them as addresses."""
    try:
        return ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        pass
    if all(part and (part.isdigit() or part.startswith("0x")) for part in name.split(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None
