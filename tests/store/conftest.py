"""Every store test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.store import Store


@pytest.fixture
async def store(any_db_url: str) -> AsyncIterator[Store]:
    """A store on a fresh database, once per backend."""
    opened = await Store.open(any_db_url, create=False)
    await opened.create_schema()  # PostgreSQL is never migrated implicitly
    yield opened
    await opened.close()


@pytest.fixture
async def other_store(any_db_url: str) -> AsyncIterator[Callable[[], Awaitable[Store]]]:
    """Open more stores on the same database, each with its own connections (another process)."""
    opened: list[Store] = []

    async def make() -> Store:
        s = await Store.open(any_db_url, create=False)
        opened.append(s)
        return s

    yield make
    for s in opened:
        await s.close()
