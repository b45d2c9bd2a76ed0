"""The one engine every repository shares, what each of them needs of it, and the URLs."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# Rows written or matched per statement: SQLite allows at most 32766 bound parameters.
CHUNK = 500


def default_database_url() -> str:
    """A SQLite file in the user's data directory."""
    data = Path(platformdirs.user_data_dir("breachradar", appauthor=False))
    return f"sqlite+aiosqlite:///{data / 'breachradar.db'}"


def normalize_database_url(url: str) -> str:
    """Pick the async driver for plain ``sqlite://`` and ``postgresql://`` URLs."""
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def aware(value: datetime | None) -> datetime | None:
    """The datetime as stored, made timezone-aware (SQLite hands them back naive)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Database:
    """An async engine with the dialect's upsert (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    async def ping(self) -> None:
        """Raise if the database cannot answer a query now (or its SQLite file is gone)."""
        database = self.engine.url.database
        # An open SQLite connection keeps answering from a deleted file, and whatever it
        # writes there is lost: a file gone from its path is a database gone.
        if (
            self.dialect == "sqlite"
            and database
            and database != ":memory:"
            and not await asyncio.to_thread(_exists, database)
        ):
            raise FileNotFoundError(f"the database file {database} is gone")
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def insert(self, table: Any) -> Any:
        """An INSERT that supports ``on_conflict_do_*`` on this database."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


async def create_engine(url: str) -> AsyncEngine:
    """An engine for ``url``; SQLite gets its folder, WAL and foreign keys."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            await asyncio.to_thread(_make_parent, database)
        kwargs["connect_args"] = {"timeout": 30}
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets readers (the bot's lookups) run beside the writer.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def _exists(database: str) -> bool:
    return os.path.exists(os.path.expanduser(database))


def _make_parent(database: str) -> None:
    folder = os.path.dirname(os.path.expanduser(database))
    if folder:
        os.makedirs(folder, exist_ok=True)
