"""Alembic's entry point: migrate the connection it is given, or the configured database."""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store.database import default_database_url, normalize_database_url
from bot.store.schema import metadata

config = context.config


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table there.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_on_url(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(run_on)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("BreachRadar migrations run against a database, not as SQL scripts")

given = config.attributes.get("connection")
if given is not None:
    # bot.store.migrate passes the connection of the store being opened.
    run_on(given)
else:
    url = os.environ.get("BREACHRADAR_DATABASE_URL") or default_database_url()
    asyncio.run(run_on_url(normalize_database_url(url)))
