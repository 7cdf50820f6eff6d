"""Async engine and session factory; one engine per process per service database."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


@dataclass(frozen=True)
class ConnectionOptions:
    """How every connection a service opens to its database behaves (the engine's, the raw
    pool's, the relay's); a service's from its settings (ServiceSettings.database_pool)."""

    # A dead database must fail fast, not hang a request or the relay for minutes.
    connect_timeout_s: float = 5.0
    # The server's statement_timeout; 0: none.
    statement_timeout_ms: int = 0
    # libpq's sslmode, whatever the URL says; empty: the URL's own choice, else no TLS on
    # loopback and `remote_sslmode` (empty: asyncpg's default, `prefer`) elsewhere.
    sslmode: str = ""
    remote_sslmode: str = ""

    def ssl(self, url: str) -> str | bool | None:
        """asyncpg's `ssl` argument for a connection to `url` (None: the URL's or asyncpg's)."""
        if self.sslmode:
            return self.sslmode
        if loopback_without_ssl_choice(url):
            # asyncpg's default ("prefer") negotiates TLS whenever the server offers it. On a
            # loopback connection that protects nothing and costs CPU on every query (the
            # benchmark's profile showed it).
            return False
        if {"ssl", "sslmode"} & set(make_url(url).query):
            return None
        return self.remote_sslmode or None

    def server_settings(self, application_name: str) -> dict[str, str]:
        settings = {
            "application_name": application_name,
            # No JIT: every statement here is short, and PostgreSQL compiles one whenever its
            # cost estimate passes jit_above_cost, however wrong the estimate. With a million
            # fulfilment orders the daily-capacity count was estimated high and spent 200 ms
            # compiling for a 2 ms query (the growth benchmark found it).
            "jit": "off",
        }
        if self.statement_timeout_ms:
            settings["statement_timeout"] = str(self.statement_timeout_ms)
        return settings


@dataclass(frozen=True)
class PoolOptions:
    size: int = 10
    # Connections opened beyond `size` under a burst (closed again when returned).
    max_overflow: int = 10
    # How long a checkout waits for a connection before it fails.
    timeout_s: float = 30.0
    connection: ConnectionOptions = field(default_factory=ConnectionOptions)


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    application_name: str = "oms",
    options: PoolOptions | None = None,
) -> AsyncEngine:
    """`options` (a service's, from its settings) or else a pool of `pool_size` and as many
    again under a burst, with the defaults of ConnectionOptions."""
    options = options or PoolOptions(size=pool_size, max_overflow=pool_size)
    connection = options.connection
    connect_args: dict[str, Any] = {
        "timeout": connection.connect_timeout_s,
        "server_settings": connection.server_settings(application_name),
    }
    ssl = connection.ssl(url)
    if ssl is not None:
        connect_args["ssl"] = ssl
    engine = create_async_engine(
        url,
        pool_size=options.size,
        max_overflow=options.max_overflow,
        pool_timeout=options.timeout_s,
        connect_args=connect_args,
        # JSON and JSONB columns through orjson: a saga, a routing decision and every outbox
        # row are JSON documents, and the standard library's encoder was a visible share of
        # the services' CPU.
        json_serializer=json_text,
        json_deserializer=orjson.loads,
    )
    ping_when_idle(engine)
    return engine


# A connection back in the pool for longer than this is pinged before it is used again.
IDLE_PING_S = 5.0


def ping_when_idle(engine: AsyncEngine) -> None:
    """Checks a pooled connection before use only if it sat idle for IDLE_PING_S: a database
    restarted while the pool slept must not fail the next request, but a connection in
    constant use is alive, and pinging it on every checkout (SQLAlchemy's pool_pre_ping) was
    a round trip before every transaction of every service."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _returned(_dbapi: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _borrowed(dbapi: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < IDLE_PING_S:
            return
        try:
            dbapi.ping()
        except Exception as exc:
            # The pool drops this connection and checks out another (a fresh one if need be).
            raise DisconnectionError(f"idle connection failed its ping: {exc!r}") from exc


def json_text(value: Any) -> str:
    """JSON as the standard library would write it for these documents (keys that are not
    strings become strings), but several times faster."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def loopback_without_ssl_choice(url: str) -> bool:
    """A connection that never leaves the machine (loopback, or a Unix socket: `?host=/dir`)
    and names no TLS choice of its own."""
    parsed = make_url(url)
    chosen = {"ssl", "sslmode"} & set(parsed.query)
    socket = str(parsed.query.get("host", "")).startswith("/")
    return not chosen and (socket or parsed.host in ("127.0.0.1", "localhost", "::1"))


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def asyncpg_dsn(url: str) -> str:
    """The plain libpq-style DSN asyncpg wants, from a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
