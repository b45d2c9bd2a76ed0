"""Shared fixtures: local servers, a fresh database and a store on it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from bot.store import Store
from tests.support.localserver import LocalServer
from tests.support.postgres import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]  # fixtures shared by every test package

# Property tests: bounded so the suite stays fast; no per-example deadline, because a
# loaded CI machine makes timings meaningless. HYPOTHESIS_PROFILE=thorough digs deeper.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=False,
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True, scope="session")
def no_user_configuration(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A configuration left by `breachradar init` on this machine must not change what the
    tests (and the commands they run) read by default: point the user's configuration
    directory at an empty folder."""
    before = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("user-config"))
    yield
    if before is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = before


@pytest.fixture
def web() -> Iterator[LocalServer]:
    """A real HTTP server on 127.0.0.1 standing in for the sites we scrape."""
    server = LocalServer().start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[LocalServer]:
    """A local webhook receiver that records every post."""
    server = LocalServer().start()
    yield server
    server.stop()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite database for one test."""
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each backend in turn: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store_url(db_url: str) -> str:
    """The database ``store`` opens: SQLite here; tests/store and a few modules override it
    with ``any_db_url`` to run on each backend in turn."""
    return db_url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A store on a fresh database, its schema made by the migrations."""
    opened = await Store.open(store_url, create=False)
    await opened.create_schema()  # PostgreSQL is never migrated implicitly
    yield opened
    await opened.close()


@pytest.fixture
async def other_store(store_url: str) -> AsyncIterator[Callable[[], Awaitable[Store]]]:
    """Open more stores on the same database, each with its own connections (another process)."""
    opened: list[Store] = []

    async def make() -> Store:
        s = await Store.open(store_url, create=False)
        opened.append(s)
        return s

    yield make
    for s in opened:
        await s.close()
