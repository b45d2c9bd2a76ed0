"""Bring a database to the schema this code expects, or say clearly why not.

The migrations live in ``bot/store/migrations`` (see its docstring for writing one). SQLite,
the zero-setup default, is created and upgraded on open. PostgreSQL, shared by several
processes, is upgraded only by ``breachradar db upgrade``; a process meeting an older or
newer schema there refuses to start rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

INITIAL = "0001"
# Any fixed number: the PostgreSQL advisory lock that serialises concurrent upgrades.
_UPGRADE_LOCK = 0x42524D47


class SchemaError(Exception):
    """The database's schema does not match this version of BreachRadar."""


def _config() -> Config:
    config = Config()
    # Alembic reads the scripts from a folder: the package's own, wherever it is installed.
    config.set_main_option("script_location", str(resources.files("bot.store.migrations")))
    return config


def head() -> str:
    """The newest revision this code knows."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def _known(revision: str) -> bool:
    return any(
        s.revision == revision for s in ScriptDirectory.from_config(_config()).walk_revisions()
    )


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _has_tables(conn: Connection) -> bool:
    return bool(set(inspect(conn).get_table_names()) - {"alembic_version"})


def _upgrade(conn: Connection, revision: str) -> str | None:
    if conn.dialect.name == "postgresql":
        # Two processes upgrading at once would race on the same DDL.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK})
    before = _current(conn)
    if before is not None and not _known(before):
        raise SchemaError(_newer(before))
    config = _config()
    config.attributes["connection"] = conn
    if _current(conn) is None and _has_tables(conn):
        # A database created before migrations existed holds exactly the initial schema.
        command.stamp(config, INITIAL)
    command.upgrade(config, revision)
    return before


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database's schema stands against this code."""

    revision: str | None  # None: never migrated
    latest: str
    known: bool  # this code knows the revision (False: a newer version upgraded it)
    has_tables: bool


async def schema_state(engine: AsyncEngine) -> SchemaState:
    """Read the schema's revision and whether tables exist, changing nothing."""
    async with engine.connect() as conn:
        revision = await conn.run_sync(_current)
        has_tables = await conn.run_sync(_has_tables)
    known = revision is None or _known(revision)
    return SchemaState(revision, head(), known, has_tables)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> tuple[str | None, str]:
    """Apply the migrations up to ``revision``; return the revisions before and after."""
    async with engine.begin() as conn:
        before = await conn.run_sync(_upgrade, revision)
        after = await conn.run_sync(_current)
    assert after is not None
    return before, after


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Undo migrations down to ``revision`` ("base" removes every table)."""

    def run(conn: Connection) -> None:
        config = _config()
        config.attributes["connection"] = conn
        command.downgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def ensure_current(engine: AsyncEngine) -> None:
    """Check the schema at start: create or upgrade SQLite, refuse a mismatch elsewhere."""
    at = await current_revision(engine)
    wanted = head()
    if at == wanted:
        return
    if at is not None and not _known(at):
        raise SchemaError(_newer(at))
    if engine.dialect.name == "sqlite":
        await upgrade(engine)
        return
    if at is None:
        async with engine.connect() as conn:
            has_tables = await conn.run_sync(_has_tables)
        state = "has tables but no schema revision" if has_tables else "is empty"
        raise SchemaError(
            f"the database {state}; run `breachradar db upgrade` once to create the schema"
        )
    raise SchemaError(
        f"the database schema is at revision {at} but this BreachRadar needs {wanted}; "
        "stop the other processes and run `breachradar db upgrade`"
    )


def _newer(revision: str) -> str:
    return (
        f"the database schema is at revision {revision}, which this BreachRadar does not "
        "know: it was upgraded by a newer version. Upgrade BreachRadar, or restore a backup"
    )
