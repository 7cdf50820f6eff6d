"""Where a webhook may go: https outside development, and never a loopback, private,
link-local or reserved host outside development (SSRF)."""

from __future__ import annotations

import pytest

from services.notifications.domain.errors import (
    InsecureWebhookUrl,
    InvalidWebhookUrl,
    PrivateWebhookTarget,
)
from services.notifications.domain.targets import TargetPolicy, check_url, is_private_host

PRODUCTION = TargetPolicy(require_https=True, allow_private=False)
TEST = TargetPolicy(require_https=False, allow_private=False)
DEVELOPMENT = TargetPolicy(require_https=False, allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/oms",
        "https://hooks.example.com:8443/oms?tenant=7",
        "https://93.184.216.34/hook",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
    ],
)
def test_a_public_https_url_is_accepted(url: str) -> None:
    assert check_url(url, PRODUCTION) == url


def test_http_is_refused_outside_development_and_test() -> None:
    with pytest.raises(InsecureWebhookUrl):
        check_url("http://hooks.example.com/oms", PRODUCTION)
    assert check_url("http://hooks.example.com/oms", TEST)


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost/hook",
        "https://LOCALHOST./hook",
        "https://app.localhost/hook",
        "https://printer.local/hook",
        "https://metadata.google.internal/computeMetadata/v1/",
        "https://127.0.0.1/hook",
        "https://127.1/hook",
        "https://2130706433/hook",
        "https://0x7f.0.0.1/hook",
        "https://0177.0.0.1/hook",
        "https://0.0.0.0/hook",
        "https://10.1.2.3/hook",
        "https://172.16.0.1/hook",
        "https://192.168.1.10/hook",
        "https://100.64.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://224.0.0.1/hook",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:169.254.169.254]/hook",
    ],
)
def test_loopback_private_link_local_and_reserved_hosts_are_refused(url: str) -> None:
    with pytest.raises(PrivateWebhookTarget):
        check_url(url, PRODUCTION)
    with pytest.raises(PrivateWebhookTarget):
        check_url(url, TEST)
    assert check_url(url, DEVELOPMENT) == url  # a receiver on this machine, in development


@pytest.mark.parametrize(
    "url",
    [
        "",
        "hooks.example.com/oms",
        "ftp://hooks.example.com/oms",
        "javascript:alert(1)",
        "https:///no-host",
        "https://user:secret@hooks.example.com/oms",
        "https://hooks.example.com/oms#part",
        "https://hooks.example.com:0/oms",
        "https://hooks.example.com:99999/oms",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/" + "x" * 2048,
    ],
)
def test_what_is_not_a_usable_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_url(url, DEVELOPMENT)


def test_a_name_is_not_resolved_here() -> None:
    # What a name resolves to can change after this check: the delivery worker checks the
    # address it connects to.
    assert not is_private_host("hooks.example.com")
    assert not is_private_host("10.example.com")
