from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from libs.config import ServiceSettings
from libs.registry import service
from services.orchestration.domain.saga import DeclinePolicy


class OrchestrationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORCHESTRATION_", extra="ignore", frozen=True)

    SERVICE_NAME: str = "orchestration"
    HTTP_PORT: int = service("orchestration").port
    DATABASE_URL: str = (
        "postgresql+asyncpg://oms_orchestration:oms_orchestration@127.0.0.1:5432/oms_orchestration"
    )
    # How long after its placing an order that orchestration's view of inventory cannot
    # serve is asked about again (every second) before it counts as unroutable: what serves
    # it may not have reached the view yet (a location or stock created just before).
    ROUTING_GRACE_S: float = Field(default=30, ge=0)
    # After its grace an order no location can serve waits for stock: it is planned again
    # when the stock of one of its SKUs changes (or a location becomes active, or the
    # strategy changes), and at least every WAITING_RECHECK_S; after WAITING_MAX_S of waiting
    # it is held `unroutable` for a person to decide.
    WAITING_RECHECK_S: float = Field(default=60, gt=0)
    WAITING_MAX_S: float = Field(default=72 * 3600, gt=0)
    # What a declined payment does to the order: hold it for a person, or cancel it.
    PAYMENT_DECLINED_POLICY: DeclinePolicy = DeclinePolicy.ON_HOLD
    # How long an order held for a declined payment waits for a new payment method
    # (POST /v1/orders/{id}/payment) before it is cancelled and order-capture told.
    PAYMENT_RECOVERY_S: float = Field(default=72 * 3600, gt=0)
    MAX_REPLANS: int = Field(default=3, ge=0)
    PAYMENT_ATTEMPTS: int = Field(default=8, ge=1)
    # How long the saga waits for inventory's answer to a reservation, and for a location
    # to accept its fulfilment order, before it compensates (release and plan again).
    RESERVATION_TIMEOUT_S: float = Field(default=300, gt=0)
    ACCEPTANCE_TIMEOUT_S: float = Field(default=86_400, gt=0)
    # How often the worker looks for sagas to route and payment calls to make when idle.
    WORKER_INTERVAL_S: float = Field(default=0.5, gt=0)
    # How long a process's claim on a saga to route or a payment call to make keeps the other
    # processes off it. Longer than the step can take (a payment call with its retries): a
    # claim that lapses mid-call lets a second process repeat the step, which is harmless
    # (the answer is applied once) but wasted. A process that dies holding a claim
    # leaves the work to another this much later.
    WORKER_LEASE_S: float = Field(default=30.0, gt=0)
    # A batch of 500 placed orders, each routed over ~100 candidates, was most of this
    # process's peak memory draining a peak: 20 s of 1,000 orders/s offered (5,740 accepted)
    # took it from 107 to 150 MB with 500 and to 136 MB with 200. A steady flow's batches
    # are far smaller than either.
    CONSUMER_MAX_BATCH: int = Field(default=200, ge=1)
    # Crash tests only: "step:before,step:after,..." kills the process at those commits once.
    CRASH_POINTS: str = ""
    CRASH_MARKER_DIR: str = ""

    @model_validator(mode="after")
    def _no_crash_points_in_production(self) -> OrchestrationSettings:
        if self.ENV == "production" and self.CRASH_POINTS:
            raise ValueError("CRASH_POINTS is a test fault injector; never set it in production")
        return self
