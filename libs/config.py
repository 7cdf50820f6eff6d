"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from libs.db.engine import ConnectionOptions, PoolOptions
from libs.messaging.kafka import KafkaClientSettings

# Processes a service runs by default, at most: one more process is one more core's worth of
# Python, but also ~130 MB and one more database pool (up to 2 x DATABASE_POOL_SIZE + 1
# connections), and past a few processes a service waits on PostgreSQL, not on Python.
MAX_DEFAULT_PROCESSES = 4
DAY_S = 24 * 3600


def default_processes() -> int:
    """One process per CPU this process may run on (a container's cpuset, not the host's
    count), at most MAX_DEFAULT_PROCESSES: each is single-threaded Python, so more processes
    than CPUs only add memory and connections."""
    return max(1, min(usable_cpus(), MAX_DEFAULT_PROCESSES))


def usable_cpus() -> int:
    """The CPUs this process may run on (a container's cpuset, not the host's count)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cpus or 1


# The service that answers the sales channels' HTTP requests: a peak arrives there first.
HTTP_EDGE = "order_capture"


def shared_host_processes(service: str, cpus: int | None = None) -> int:
    """Processes for `service` when the whole stack shares one machine (`make run`, `make
    bench`): the services, PostgreSQL and Kafka split its CPUs. The HTTP edge gets one per
    two CPUs, every other service one per four, at least one each. The others mostly consume
    events, and one process of a consumer batches what several would split: on 2 CPUs, one
    process per service routed an order for 26 ms of the services' CPU where two took 36."""
    cpus = usable_cpus() if cpus is None else cpus
    share = 2 if service == HTTP_EDGE else 4
    return max(1, min(cpus // share, MAX_DEFAULT_PROCESSES))


# How far each service yields the CPU to the others when the whole stack shares one machine
# (Unix nice, 0-19; see libs.processes.yield_cpu). A peak arrives at the HTTP edges first, and
# what order-capture accepts is worked off downstream once the peak passes; so the services
# that answer the sales channels' requests (order-capture; inventory: availability and
# reservations) take the CPU first, orchestration, which mostly consumes, next, and returns,
# which no order waits on, last. Measured on 2 CPUs, capture flat out with the stack running,
# alternating: 170 and 190 orders/s with every service at 0, 322 and 327 with these.
SHARED_HOST_NICE = {HTTP_EDGE: 0, "inventory": 0, "orchestration": 10, "returns": 15}
DOWNSTREAM_NICE = 10  # a service not listed above


def shared_host_consumer_apart(service: str) -> bool:
    """CONSUMER_APART for `service` when the whole stack shares one machine: the HTTP edge's
    consumer (order updates from downstream) runs in a process of its own at a lower CPU
    priority, so the orders' requests never wait behind a batch of updates. Measured on 2
    CPUs, orders at half of capture's highest rate with the stack running, 8 runs each in
    two alternating sets: p50 4-8 ms and p99 23-118 ms (median 53) apart; p50 7-13 ms and
    p99 57-157 ms (median 92) with the consumer in the HTTP process."""
    return service == HTTP_EDGE


def shared_host_nice(service: str) -> int:
    """CPU_NICE for `service` when the whole stack shares one machine (`make run`, `make
    bench`); on a machine of its own (a container with its CPU request) a service needs none."""
    return SHARED_HOST_NICE.get(service, DOWNSTREAM_NICE)


class WriteAllowance(BaseModel):
    """One client's own write rate, in place of the instance-wide default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_per_s: float = Field(gt=0)
    burst: int = Field(ge=1)


class ServiceSettings(KafkaClientSettings, BaseSettings):
    """Shared knobs (the brokers' address and security: KafkaClientSettings). A subclass sets
    `env_prefix` (e.g. `INVENTORY_`) and the defaults."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    SERVICE_NAME: str
    ENV: Literal["development", "test", "production"] = "development"
    LOG_LEVEL: str = "INFO"
    # One JSON line per HTTP request (libs.observability.access_log): about 45-60 us of CPU
    # each, under 1 % of what an order costs the services (docs/operations.md#access-log).
    ACCESS_LOG: bool = True
    HTTP_HOST: str = "127.0.0.1"
    HTTP_PORT: int
    # How many processes serve this instance (HTTP on one shared socket, consumers in one
    # group, the relay elected, the jobs claiming their rows); 1 runs it in the process itself.
    PROCESSES: int = Field(default_factory=default_processes, ge=1)
    # How many instances of this service run side by side (pods, hosts), each with its
    # PROCESSES. Only the self-service limit reads it: the limit is the whole service's, and
    # each instance enforces its share in memory (libs.bootstrap.access_control).
    REPLICAS: int = Field(default=1, ge=1)
    # How far this service's processes yield the CPU to other programs (Unix nice, 0-19): on a
    # machine the services share, the HTTP edge should win the CPU over the consumers behind it
    # (`make run` and `make bench` set shared_host_nice); in a container, the CPU request
    # does that job and 0 is right.
    CPU_NICE: int = Field(default=0, ge=0, le=19)
    # The consumer in a process of its own, beside the PROCESSES that serve HTTP (each with
    # the relay and the jobs), at nice CONSUMER_APART_NICE: for a service whose requests must
    # not wait behind the events it consumes (libs.processes; shared_host_consumer_apart).
    CONSUMER_APART: bool = False
    CONSUMER_APART_NICE: int = Field(default=10, ge=0, le=19)
    # New objects after which Python's garbage collector looks at the young ones (its own
    # default is 700); see libs.runtime.settle_heap.
    GC_GEN0_THRESHOLD: int = Field(default=50_000, ge=100)
    DATABASE_URL: str
    DATABASE_POOL_SIZE: int = Field(default=10, ge=1)
    # Connections a process opens beyond the pool under a burst (-1: as many as the pool).
    DATABASE_MAX_OVERFLOW: int = Field(default=-1, ge=-1)
    # How long a request waits for a pooled connection before it fails (503, not a hang).
    DATABASE_POOL_TIMEOUT_S: float = Field(default=30, gt=0)
    DATABASE_CONNECT_TIMEOUT_S: float = Field(default=5, gt=0)
    # The server ends a statement that runs (or waits on a lock) longer; the request gets a 503
    # (libs.db.errors), a consumer tries again. Off by default (0, PostgreSQL's own): with a
    # 30 s default, 2,000 reservations at once for the same stock rows on a 2-core machine
    # waited longer than that for their locks and failed, where without it each was served.
    DATABASE_STATEMENT_TIMEOUT_MS: int = Field(default=0, ge=0)
    # TLS to PostgreSQL (libpq's sslmode; the CA for verify-*: PGSSLROOTCERT). Empty: the
    # URL's own choice, else none on loopback, `require` in production, `prefer` elsewhere.
    DATABASE_SSLMODE: Literal[
        "", "disable", "allow", "prefer", "require", "verify-ca", "verify-full"
    ] = ""
    # Lets a test run use its own topics on a shared broker; empty in every real deployment.
    KAFKA_TOPIC_PREFIX: str = ""
    # Static consumer-group membership: set a stable id per instance so a restart is quick
    # (each of an instance's PROCESSES is a member of its own: `<id>-<n>`).
    KAFKA_GROUP_INSTANCE_ID: str = ""
    RELAY_BATCH_SIZE: int = Field(default=200, ge=1)
    RELAY_POLL_INTERVAL_S: float = Field(default=1.0, gt=0)
    # After a wake-up the relay waits this long, so the commits of one busy moment go out as
    # one batch (one claim, one produce round) rather than one small batch each.
    # 30 ms (with the consumers' 50 ms): at 50 orders/s offered, the stack routed 41/s for
    # 40 ms of CPU an order, where 10 ms (and 20 ms) routed 36/s for 47 ms; 50 and 100 ms
    # gained nothing more.
    RELAY_LINGER_S: float = Field(default=0.03, ge=0)
    CONSUMER_MAX_ATTEMPTS: int = Field(default=5, ge=1)
    CONSUMER_RETRY_BACKOFF_S: float = Field(default=0.2, ge=0)
    # The consumer's batching window: the broker holds each fetch this long (unless a backlog
    # is there), so a moderate flow arrives in batches rather than single records (a
    # transaction each). The client fetches in the background while the last batch is
    # handled, so the window runs beside the handling: waiting after the first record
    # instead (an in-process linger of the same 100 ms) put the window after the handling,
    # and placed -> routed at 100 orders/s took p50 1,320 and 1,650 ms, p99 2,320 and 2,460,
    # against p50 440 and 950, p99 740 and 1,330 this way, for 9.0 and 9.9 against 9.5 and
    # 10.7 ms of the services' CPU an order (alternating runs). 0 answers every record at once.
    # 100 ms: with an in-process linger, 50 ms spent 11.6 ms of CPU an order where 100 spent
    # 10.2 and 11.1, and 20 ms 13.4 and 12.7 (inventory and returns consume the most small
    # batches). An idle consumer's fetch returns empty after the window, ten a second.
    CONSUMER_LINGER_S: float = Field(default=0.1, ge=0)
    # Records handled in one go (one transaction for the batchable ones). A batch is a
    # stretch of CPU the process's HTTP requests wait behind: order capture, the edge a peak
    # hits, takes fewer (see OrderCaptureSettings).
    CONSUMER_MAX_BATCH: int = Field(default=500, ge=1)
    # How often handled offsets are committed to the broker (also when idle, and on leaving).
    CONSUMER_COMMIT_INTERVAL_S: float = Field(default=1.0, gt=0)
    # Writes per second a client (a token's client id) may send to this instance, in bursts
    # of up to WRITE_BURST; self-service requests per minute a client address may send.
    # The default fits one integration client carrying a whole peak (the 1,000
    # orders a second, two seconds of it at once): the limit is there to stop a runaway
    # client, not to pace a busy one; the services shed load themselves when they are full.
    WRITE_RATE_PER_S: float = Field(default=1000, gt=0)
    WRITE_BURST: int = Field(default=2000, ge=1)
    # Clients with a rate of their own, as JSON: {"<client id>": {"rate_per_s": .., "burst": ..}}.
    WRITE_RATE_PER_CLIENT: dict[str, WriteAllowance] = Field(default_factory=dict)
    SELF_SERVICE_RATE_PER_MIN: float = Field(default=30, gt=0)
    SELF_SERVICE_BURST: int = Field(default=10, ge=1)
    # Requests one process serves at once; the next is refused at once with 503 `overloaded`
    # (libs.http.middleware.AdmissionControl). A saturated process serves what it admitted
    # in turn, so this bounds the accepted requests' latency: 1,000 orders/s offered for 15 s
    # on 2 CPUs, order capture accepted 3,766 at p99 598 ms with 64 and 3,873 at p99 245 ms
    # with 32 (a process keeps its CPU busy with far fewer than 32 requests at once).
    HTTP_MAX_IN_FLIGHT: int = Field(default=32, ge=1)
    # Retention of the shared plumbing tables (libs.outbox.retention), each in seconds.
    # Idempotency keys: the API promises a key is honoured for 24 h (docs/api-guide.md); an
    # older key is ignored by the lookup at once and deleted by the job later.
    IDEMPOTENCY_RETENTION_S: int = Field(default=DAY_S, ge=60)
    # Inbox rows are what makes a redelivered event a no-op, so they must outlive every copy
    # of the event the broker can still deliver: longer than the topics' retention.ms, 7 days
    # as the topics tool makes them (OMS_KAFKA_RETENTION_MS, libs.messaging.admin); 14 days
    # leaves a margin for a replay from the earliest offset. Raise it with the topics'.
    INBOX_RETENTION_S: int = Field(default=14 * DAY_S, ge=60)
    AUDIT_RETENTION_S: int = Field(default=365 * DAY_S, ge=60)
    # How often the retention job looks when it last found nothing; while it finds rows it
    # goes on, RETENTION_BATCH rows of each table per transaction.
    RETENTION_INTERVAL_S: float = Field(default=300, gt=0)
    RETENTION_BATCH: int = Field(default=5000, ge=1)
    RUN_RELAY: bool = True
    RUN_CONSUMER: bool = True
    RUN_JOBS: bool = True

    @model_validator(mode="after")
    def _refuse_default_secrets_outside_development(self) -> ServiceSettings:
        # The defaults carry the development password (the role's name); anywhere but
        # development and test, real credentials must come through the environment.
        if self.ENV in ("development", "test"):
            return self
        url = make_url(self.DATABASE_URL)
        if url.password is None or url.password == url.username:
            raise ValueError(
                "DATABASE_URL carries no password or the development one; set real credentials"
            )
        return self

    def database_pool(self) -> PoolOptions:
        overflow = self.DATABASE_MAX_OVERFLOW
        return PoolOptions(
            size=self.DATABASE_POOL_SIZE,
            max_overflow=self.DATABASE_POOL_SIZE if overflow < 0 else overflow,
            timeout_s=self.DATABASE_POOL_TIMEOUT_S,
            connection=ConnectionOptions(
                connect_timeout_s=self.DATABASE_CONNECT_TIMEOUT_S,
                statement_timeout_ms=self.DATABASE_STATEMENT_TIMEOUT_MS,
                sslmode=self.DATABASE_SSLMODE,
                remote_sslmode="require" if self.ENV == "production" else "",
            ),
        )

    @property
    def deploy_name(self) -> str:
        """Kebab-case name used for Kafka client ids, consumer groups and logs."""
        return self.SERVICE_NAME.replace("_", "-")
