"""What a database error says: its SQLSTATE, whether retrying the transaction cures it, and
whether an OS-level error came from the database connection at all."""

from __future__ import annotations

import traceback

from sqlalchemy.exc import DBAPIError

# A transaction PostgreSQL rolled back for another's sake, not for anything wrong in it:
# deadlock_detected and serialization_failure. Running it again is the cure.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})

# The server is there but takes no work now: it is starting up, recovering or shutting down
# (57P03 cannot_connect_now: "the database system is not yet accepting connections", 57P01
# admin_shutdown, 57P02 crash_shutdown) or out of connection slots (53300
# too_many_connections). Class 08 (connection_exception) is the connection failing itself.
# asyncpg raises these while connecting, before SQLAlchemy marks any connection invalidated,
# so only the code says the database is unavailable rather than the request being wrong.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
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


def is_unavailable(exc: BaseException) -> bool:
    """The database cannot take work now (starting, recovering, shutting down, full, or the
    connection failing): retrying later cures it, so a client gets 503 and a consumer retries."""
    state = sqlstate_of(exc)
    return state is not None and (
        state in UNAVAILABLE_SQLSTATES or state.startswith(UNAVAILABLE_SQLSTATE_CLASSES)
    )


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
