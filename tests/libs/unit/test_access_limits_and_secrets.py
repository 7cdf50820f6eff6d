"""Rate limits, the refusal of development secrets outside development, service tokens and
the resources an audit row names."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from libs.auth.keys import DEV_KID_PREFIX, generate_signing_key, jwks_of
from libs.auth.service_tokens import ServiceTokens
from libs.auth.settings import DEV_ISSUER, AuthSettings
from libs.bootstrap import self_service_limiter
from libs.config import ServiceSettings
from libs.contracts.base import IntegrationEvent
from libs.contracts.inventory import LowStock
from libs.contracts.orchestration import FulfillmentAccepted
from libs.http.rate_limit import RateLimiter
from libs.outbox.audit import resources_of
from services.order_capture.config import OrderCaptureSettings


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_says_how_long_to_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=2, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.take("a") == 1  # half a second to the next token: Retry-After rounds up
    assert limiter.take("b") == 0  # each client has its own bucket
    clock.now += 0.5
    assert limiter.take("a") == 0
    assert limiter.take("a") >= 1


def test_a_slow_rate_asks_for_a_longer_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=1 / 60, burst=1, clock=clock)
    assert limiter.take("10.0.0.1") == 0
    assert 59 <= limiter.take("10.0.0.1") <= 60


def test_the_limiter_forgets_the_least_recent_clients_beyond_its_size() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=1, burst=1, clock=clock, max_keys=2)
    limiter.take("a")
    limiter.take("b")
    limiter.take("c")  # "a" is forgotten: it starts again with a full bucket
    assert limiter.take("a") == 0
    assert limiter.take("c") == 1


def test_a_client_with_an_allowance_of_its_own_has_its_own_rate_and_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate_per_s=1, burst=1, per_key={"connector": (10, 3)}, clock=clock)
    assert [limiter.take("connector") for _ in range(4)] == [0, 0, 0, 1]
    assert [limiter.take("anyone") for _ in range(2)] == [0, 1]
    clock.now += 0.15  # a token at 10 a second, none yet at the default rate
    assert limiter.take("connector") == 0
    assert limiter.take("anyone") == 1


@pytest.mark.parametrize("per_key", [{"c": (0.0, 5)}, {"c": (5.0, 0)}])
def test_an_allowance_needs_a_positive_rate_and_burst(
    per_key: dict[str, tuple[float, int]],
) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        RateLimiter(rate_per_s=1, burst=1, per_key=per_key)


def test_each_replica_enforces_its_share_of_the_self_service_limit() -> None:
    url = "postgresql+asyncpg://returns:secret@db/returns"
    clock = FakeClock()
    one_of_two = self_service_limiter(
        ServiceSettings(
            SERVICE_NAME="returns",
            HTTP_PORT=8004,
            DATABASE_URL=url,
            REPLICAS=2,
            SELF_SERVICE_RATE_PER_MIN=60,
            SELF_SERVICE_BURST=9,
        ),
        clock=clock,
    )
    # Half of the burst (rounded up) and half of the rate: a second a request becomes two.
    assert [one_of_two.take("203.0.113.7") for _ in range(6)] == [0, 0, 0, 0, 0, 2]
    clock.now += 2
    assert one_of_two.take("203.0.113.7") == 0


def test_the_default_write_rate_fits_one_client_at_a_peak(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for knob in ("WRITE_RATE_PER_S", "WRITE_BURST", "WRITE_RATE_PER_CLIENT"):
        monkeypatch.delenv(f"ORDER_CAPTURE_{knob}", raising=False)  # the suite lifts them
    settings = OrderCaptureSettings()
    assert (settings.WRITE_RATE_PER_S, settings.WRITE_BURST) == (1000, 2000)
    assert settings.WRITE_RATE_PER_CLIENT == {}


def test_allowances_per_client_come_from_json_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "ORDER_CAPTURE_WRITE_RATE_PER_CLIENT",
        '{"marketplace": {"rate_per_s": 2500, "burst": 5000}}',
    )
    allowance = OrderCaptureSettings().WRITE_RATE_PER_CLIENT["marketplace"]
    assert (allowance.rate_per_s, allowance.burst) == (2500, 5000)
    refused = '{"x": {"rate_per_s": 0, "burst": 1}}'
    monkeypatch.setenv("ORDER_CAPTURE_WRITE_RATE_PER_CLIENT", refused)
    with pytest.raises(ValueError, match="greater than 0"):
        OrderCaptureSettings()


def _auth(
    key: dict[str, object], *, issuer: str = DEV_ISSUER, token_ttl_s: int = 300
) -> AuthSettings:
    return AuthSettings(
        ISSUER=issuer,
        JWKS=json.dumps(jwks_of(key)),
        SIGNING_KEY=SecretStr(json.dumps(key)),
        SERVICE_TOKEN_TTL_S=token_ttl_s,
    )


def test_development_keys_and_issuer_are_refused_outside_development() -> None:
    dev = generate_signing_key(f"{DEV_KID_PREFIX}abc")
    _auth(dev).refuse_defaults("development")
    _auth(dev).refuse_defaults("test")
    with pytest.raises(ValueError, match="development issuer"):
        _auth(generate_signing_key("prod-1")).refuse_defaults("production")
    with pytest.raises(ValueError, match="development keys"):
        _auth(dev, issuer="https://idp.example.com").refuse_defaults("production")
    _auth(generate_signing_key("prod-1"), issuer="https://idp.example.com").refuse_defaults(
        "production"
    )


def test_no_jwks_means_no_service_start() -> None:
    with pytest.raises(ValueError, match="OMS_AUTH_JWKS"):
        AuthSettings(JWKS="", JWKS_FILE="", SIGNING_KEY=SecretStr("")).verifier()


def test_service_tokens_are_reused_until_a_minute_before_they_expire() -> None:
    key = generate_signing_key("svc")
    clock = FakeClock()
    settings = _auth(key, token_ttl_s=300)
    tokens = ServiceTokens(
        settings, client_id="orchestration", scopes=["inventory:read"], clock=clock
    )
    first = tokens.headers()
    clock.now += 200
    assert tokens.headers() == first
    clock.now += 50
    renewed = tokens.headers()
    assert renewed != first
    principal = settings.verifier().verify(first["Authorization"].removeprefix("Bearer "))
    assert principal.client_id == "orchestration"
    assert principal.scopes == frozenset({"inventory:read"})


def test_a_service_that_calls_others_needs_a_signing_key() -> None:
    with pytest.raises(ValueError, match="OMS_AUTH_SIGNING_KEY"):
        ServiceTokens(AuthSettings(SIGNING_KEY=SecretStr("")), client_id="x", scopes=[])


def test_audit_rows_name_every_resource_an_event_is_about() -> None:
    now = datetime.now(UTC)
    accepted = FulfillmentAccepted(
        order_id="o-1", fulfillment_id="f-1", location_code="store-1", accepted_at=now
    )
    assert resources_of(accepted) == ["order:o-1", "fulfillment:f-1", "location:store-1"]
    low = LowStock(sku="LAMP-1", available=1, threshold=5)
    assert resources_of(low) == ["sku:LAMP-1"]


class _Returned(IntegrationEvent):
    """Not registered (no event_type of its own): a resource as a property, one optional."""

    sku: str | None = None

    @property
    def return_id(self) -> str:
        return "r-1"

    @property
    def partition_key(self) -> str:
        return "r-1"


def test_audit_rows_name_resources_from_properties_and_skip_empty_fields() -> None:
    # The fields an event type has are looked up once per type; a property counts as one,
    # and a field left empty names nothing, whichever instance comes first.
    assert resources_of(_Returned()) == ["return:r-1"]
    assert resources_of(_Returned(sku="LAMP-1")) == ["return:r-1", "sku:LAMP-1"]
    assert resources_of(_Returned()) == ["return:r-1"]
