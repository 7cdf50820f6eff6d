"""What a database error says: its SQLSTATE, whether retrying the transaction cures it, and
whether an OS-level error came from the database connection at all."""

from __future__ import annotations

import traceback
from collections.abc import Iterator

import asyncpg
from sqlalchemy.exc import DBAPIError

# A transaction PostgreSQL rolled back for another's sake, not for anything wrong in it:
# deadlock_detected and serialization_failure. Running it again is the cure.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})

# The server is there but takes no work now: it is starting up, recovering or shutting down
# (57P03 cannot_connect_now: "the database system is not yet accepting connections", 57P01
# admin_shutdown, 57P02 crash_shutdown) or out of connection slots (53300
# too_many_connections), or it ended the statement (57014 query_canceled: the statement
# timeout an operator set, or an administrator's cancel; the next try may be served). Class 08
# (connection_exception) is the connection failing itself.
# asyncpg raises these while connecting, before SQLAlchemy marks any connection invalidated,
# so only the code says the database is unavailable rather than the request being wrong.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "57014"})
UNAVAILABLE_SQLSTATE_CLASSES = ("08",)

_DATABASE_MODULES = ("asyncpg", "sqlalchemy", "libs.db")


def sqlstate_of(exc: BaseException) -> str | None:
    """The PostgreSQL error code, through SQLAlchemy's wrapper or from the driver itself (a
    statement run on the driver: libs.db.driver)."""
    driver_error: object = exc
    if isinstance(exc, DBAPIError):
        driver_error = getattr(exc.orig, "driver_exception", exc.orig)
    state = getattr(driver_error, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_retryable_conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the same transaction, run again, goes through."""
    return sqlstate_of(exc) in RETRYABLE_SQLSTATES


# asyncpg's own: the connection is closed or gone ("connection is closed",
# ConnectionDoesNotExistError), or the server refused or dropped it.
_DRIVER_UNAVAILABLE = (
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.TooManyConnectionsError,
)


def _wrapped(exc: BaseException) -> Iterator[BaseException]:
    """The error and what it wraps: SQLAlchemy's DBAPIError around its adapted driver error
    (`orig`), that around asyncpg's (`driver_exception`), or a `raise ... from` cause. A
    statement run on the driver (libs.db.driver) raises the adapted error unwrapped."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 5 and all(current is not s for s in seen):
        seen.append(current)
        yield current
        inner = getattr(current, "orig", None) if isinstance(current, DBAPIError) else None
        current = inner or getattr(current, "driver_exception", None) or current.__cause__


def is_unavailable(exc: BaseException) -> bool:
    """The database cannot take work now (starting, recovering, shutting down, full, or the
    connection failing or closed under the request): retrying later cures it, so a client
    gets 503 and a consumer retries."""
    for error in _wrapped(exc):
        if isinstance(error, _DRIVER_UNAVAILABLE):
            return True
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str) and (
            state in UNAVAILABLE_SQLSTATES or state.startswith(UNAVAILABLE_SQLSTATE_CLASSES)
        ):
            return True
    return False


def raised_by_database(exc: BaseException) -> bool:
    """Whether an OSError (a refused or reset connection, a DNS failure) was raised while
    talking to the database, judged by the code it was raised in: an OSError elsewhere (a
    file, another service's socket) says nothing about the database."""
    frames = traceback.extract_tb(exc.__traceback__)
    return any(
        frame.filename
        and any(f"/{m.replace('.', '/')}/" in frame.filename for m in _DATABASE_MODULES)
        for frame in frames
    )
