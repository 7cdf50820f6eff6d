"""Which failures are whose: a deadlock or serialization failure is retried (consumers) or
answered 503 (HTTP), never dead-lettered or 500; an OSError is the database's only when the
database client raised it."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError

from libs.db.errors import raised_by_database
from libs.http.middleware import CorrelationMiddleware
from libs.http.problems import install_problem_handlers
from libs.messaging.consumer import is_transient
from libs.observability.correlation import CORRELATION_HEADER


class DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def wrapped(sqlstate: str) -> DBAPIError:
    """What SQLAlchemy raises for a PostgreSQL error it has no class of its own for."""
    return DBAPIError("UPDATE stock_level ...", {}, DriverError(sqlstate))


@pytest.mark.parametrize(
    ("sqlstate", "transient"),
    [("40P01", True), ("40001", True), ("23505", False), ("22P02", False)],
)
def test_a_deadlock_or_serialization_failure_is_transient_for_a_consumer(
    sqlstate: str, transient: bool
) -> None:
    assert is_transient(wrapped(sqlstate)) is transient


async def test_an_oserror_from_the_database_client_is_the_databases() -> None:
    with pytest.raises(OSError) as refused:
        await asyncpg.connect(host="127.0.0.1", port=1, user="x", database="x", timeout=5)

    assert raised_by_database(refused.value)


def test_an_oserror_raised_elsewhere_is_not_the_databases() -> None:
    with pytest.raises(OSError) as missing:
        open("/nonexistent/label-font.ttf", "rb")  # noqa: SIM115

    assert not raised_by_database(missing.value)


def app_raising(exc: Exception) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app, {})

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return app


async def answer(exc: Exception) -> httpx.Response:
    transport = httpx.ASGITransport(app=app_raising(exc), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get("/boom")


@pytest.mark.parametrize(
    ("exc", "status", "code", "retry_after"),
    [
        (wrapped("40P01"), 503, "transaction_conflict", "1"),
        (wrapped("40001"), 503, "transaction_conflict", "1"),
        (ConnectionRefusedError("carrier API refused"), 503, "dependency_unavailable", "2"),
        (FileNotFoundError("label font"), 500, "internal_error", None),
    ],
)
async def test_http_answers_each_kind_for_what_it_is(
    exc: Exception, status: int, code: str, retry_after: str | None
) -> None:
    r = await answer(exc)

    assert (r.status_code, r.json()["code"]) == (status, code)
    assert r.headers.get("Retry-After") == retry_after


@pytest.mark.parametrize(
    "exc",
    [
        wrapped("22021"),  # a NUL character PostgreSQL cannot store: 422 invalid_text
        wrapped("40P01"),
        FileNotFoundError("label font"),
    ],
)
async def test_an_exception_no_handler_took_is_answered_with_the_requests_correlation_id(
    exc: Exception,
) -> None:
    """Starlette answers these outside every middleware; the id still goes back (the API
    fuzzing found a 422 invalid_text without it)."""
    app = app_raising(exc)
    app.add_middleware(CorrelationMiddleware)  # as libs.http.app does: inside Starlette's own
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        given = await client.get("/boom", headers={CORRELATION_HEADER: "corr-given"})
        made = await client.get("/boom")

    assert given.status_code >= 400
    assert given.headers[CORRELATION_HEADER] == "corr-given"
    assert made.headers.get(CORRELATION_HEADER)  # one the service made for the request


def not_accepting_connections() -> asyncpg.exceptions.CannotConnectNowError:
    """What asyncpg raises while PostgreSQL starts up or recovers after a crash."""
    return asyncpg.exceptions.CannotConnectNowError(
        "the database system is not yet accepting connections"
    )


def closed_under_a_statement_on_the_driver() -> Exception:
    """What a statement run on the driver (libs.db.driver) raised when PostgreSQL stopped
    under it: SQLAlchemy's adapted error, not wrapped in a DBAPIError (a 500 before)."""
    closed = asyncpg.InterfaceError("connection is closed")
    try:
        raise AsyncAdapt_asyncpg_dbapi.InterfaceError(  # type: ignore[no-untyped-call]
            "connection is closed", closed
        ) from closed
    except AsyncAdapt_asyncpg_dbapi.InterfaceError as adapted:
        return adapted


UNAVAILABLE = [
    closed_under_a_statement_on_the_driver(),
    # Raised while connecting: SQLAlchemy wraps it with no invalidated connection to tell.
    DBAPIError("connect", {}, not_accepting_connections()),
    not_accepting_connections(),  # from a statement run on the driver itself
    wrapped("57P01"),  # terminating connection due to administrator command
    wrapped("57P02"),  # crash shutdown
    wrapped("53300"),  # too many connections
    wrapped("57014"),  # statement timeout (or cancelled)
    wrapped("08006"),  # connection failure
]


@pytest.mark.parametrize("exc", UNAVAILABLE)
async def test_a_database_that_takes_no_connections_now_is_503_with_retry_after(
    exc: Exception,
) -> None:
    """A PostgreSQL restart gave clients HTTP 500s (issue 23): the database starting up is
    unavailable, like one that refuses the connection."""
    r = await answer(exc)

    assert (r.status_code, r.json()["code"]) == (503, "database_unavailable")
    assert r.headers["Retry-After"] == "2"


@pytest.mark.parametrize("exc", UNAVAILABLE)
def test_a_database_that_takes_no_connections_now_is_transient_for_a_consumer(
    exc: Exception,
) -> None:
    assert is_transient(exc)
