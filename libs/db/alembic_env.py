"""The body of every service's Alembic env.py: async engine, naming convention, one transaction."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

# Set by `python -m libs.db.migrate --from-scratch`: the database is emptied before it is
# downgraded to base. The downgrades are exercised on their schema, not on whatever rows a
# benchmark grew (a downgrade that converts a column rewrote a million routing decisions).
EMPTY_FIRST = "empty_first"
_EMPTY = text(
    """
    DO $$
    DECLARE tables text;
    BEGIN
        SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') INTO tables
        FROM pg_tables
        WHERE schemaname = current_schema() AND tablename <> 'alembic_version';
        IF tables IS NOT NULL THEN
            EXECUTE 'TRUNCATE ' || tables || ' CASCADE';
        END IF;
    END $$
    """
)


def _run_sync(connection: Connection, metadata: MetaData) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        if context.config.attributes.get(EMPTY_FIRST):
            connection.execute(_EMPTY)
        context.run_migrations()


async def _run_online(metadata: MetaData, database_url: str) -> None:
    engine = create_async_engine(database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync, metadata)
    finally:
        await engine.dispose()


def run_migrations(*, metadata: MetaData, database_url: str) -> None:
    if context.is_offline_mode():
        context.configure(url=database_url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_online(metadata, database_url))
