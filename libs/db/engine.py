"""Async engine and session factory; one engine per process per service database."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str, *, pool_size: int = 10, application_name: str = "oms") -> AsyncEngine:
    connect_args: dict[str, Any] = {
        # A dead database must fail fast, not hang a request or the relay for minutes.
        "timeout": 5,
        # No JIT: every statement here is short, and PostgreSQL compiles one whenever its
        # cost estimate passes jit_above_cost, however wrong the estimate. With a million
        # fulfilment orders the daily-capacity count was estimated high and spent 200 ms
        # compiling for a 2 ms query (the growth benchmark found it).
        "server_settings": {"application_name": application_name, "jit": "off"},
    }
    if loopback_without_ssl_choice(url):
        # asyncpg's default ("prefer") negotiates TLS whenever the server offers it. On a
        # loopback connection that protects nothing and costs CPU on every query (the
        # benchmark's profile showed it); a URL that names `ssl` keeps its own choice.
        connect_args["ssl"] = False
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def loopback_without_ssl_choice(url: str) -> bool:
    parsed = make_url(url)
    chosen = {"ssl", "sslmode"} & set(parsed.query)
    return not chosen and parsed.host in ("127.0.0.1", "localhost", "::1")


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def asyncpg_dsn(url: str) -> str:
    """The plain libpq-style DSN asyncpg wants, from a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
