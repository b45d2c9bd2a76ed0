"""The migrations build exactly the schema the code describes, on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store import Store, migrate
from bot.store.schema import metadata

ROOT = Path(__file__).resolve().parents[2]


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_upgrading_an_empty_database_yields_exactly_the_schema(any_db_url: str) -> None:
    """After `db upgrade`, Alembic finds no difference between the database and schema.py."""
    engine = create_async_engine(any_db_url)
    try:
        before, after = await migrate.upgrade(engine)
        assert (before, after) == (None, migrate.head())
        async with engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            assert await conn.run_sync(_tables) == set(metadata.tables) | {"alembic_version"}
        # Upgrading again is a no-op.
        assert await migrate.upgrade(engine) == (migrate.head(), migrate.head())
    finally:
        await engine.dispose()


async def test_downgrading_to_base_removes_every_table(any_db_url: str) -> None:
    """Every migration can be undone, down to an empty database."""
    engine = create_async_engine(any_db_url)
    try:
        await migrate.upgrade(engine)
        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) <= {"alembic_version"}
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head()
    finally:
        await engine.dispose()


async def test_opening_an_empty_sqlite_database_creates_the_schema(db_url: str) -> None:
    """The zero-setup default: the first run creates and migrates the SQLite file."""
    store = await Store.open(db_url)
    try:
        assert await migrate.current_revision(store.engine) == migrate.head()
    finally:
        await store.close()


async def test_a_sqlite_database_from_before_migrations_is_adopted(db_url: str) -> None:
    """A database the first release created (no revision table) is stamped, not recreated."""
    engine = create_async_engine(db_url)
    # The first release created its tables (revision 0001's schema) without Alembic.
    await migrate.upgrade(engine, migrate.INITIAL)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE alembic_version"))
        await conn.execute(text("INSERT INTO meta (key, value) VALUES ('kept', 'yes')"))
    await engine.dispose()
    store = await Store.open(db_url)
    try:
        assert await store.get_meta("kept") == "yes"
        assert await migrate.current_revision(store.engine) == migrate.head()
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgresql_refuses_to_start_on_an_unmigrated_database(postgres_url: str) -> None:
    """On PostgreSQL the service never migrates by itself: it says to run `db upgrade`."""
    with pytest.raises(migrate.SchemaError, match="breachradar db upgrade"):
        await Store.open(postgres_url)


async def test_a_database_from_a_newer_release_is_refused(any_db_url: str) -> None:
    """A revision this code does not know means a newer release migrated it: refuse."""
    engine = create_async_engine(any_db_url)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    finally:
        await engine.dispose()
    with pytest.raises(migrate.SchemaError, match="newer version"):
        await Store.open(any_db_url)


@pytest.mark.postgres
async def test_concurrent_upgrades_on_postgresql_apply_once(postgres_url: str) -> None:
    """Two processes running `db upgrade` together serialise instead of colliding."""
    import asyncio

    engines = [create_async_engine(postgres_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate.upgrade(e) for e in engines))
        assert sorted(r[0] or "" for r in results) == ["", migrate.head(), migrate.head()]
    finally:
        for e in engines:
            await e.dispose()


@pytest.mark.postgres
def test_db_upgrade_command_prepares_postgresql_for_the_service(
    postgres_url: str, tmp_path: Path
) -> None:
    """`scan` refuses an unmigrated PostgreSQL; `db upgrade` fixes it; `db current` agrees."""
    (tmp_path / "sources.toml").write_text("sources = []\n", encoding="utf-8")
    (tmp_path / "watchlist.toml").write_text('[[companies]]\nname = "Casio"\n', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("BREACHRADAR_DATABASE_URL", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args, "--config", str(tmp_path), "--db", postgres_url],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip

    refused = cli("scan")
    assert refused.returncode == 3
    assert "run `breachradar db upgrade`" in refused.stderr
    assert cli("db", "current").returncode == 1
    upgraded = cli("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from revision none to {migrate.head()}" in upgraded.stdout
    current = cli("db", "current")
    assert current.returncode == 0 and "(current)" in current.stdout


async def test_upgrade_gives_queued_channel_alerts_their_server(any_db_url: str) -> None:
    """Revision 0003 fills in the server of alerts still queued for a channel, so a sharded
    bot finds them; sent rows and webhooks are left without one."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from bot.store.schema import deliveries, disclosures, incidents, subscriptions

    when = datetime(2024, 10, 10, 9, 0, tzinfo=UTC)
    guild, channel = 1290000000000000007, 1290000000000000099
    engine = create_async_engine(any_db_url)
    try:
        await migrate.upgrade(engine, "0002")
        async with engine.begin() as conn:
            for n in (1, 2):
                await conn.execute(
                    disclosures.insert().values(
                        id=f"d{n}", source="the-record", url=f"https://therecord.media/{n}",
                        url_key=f"k{n}", title="MoneyGram cyberattack", summary="",
                        first_seen=when, evidence="reported",
                    )
                )  # fmt: skip
            await conn.execute(
                incidents.insert().values(
                    id=1, company_key="moneygram", company_name="MoneyGram", title="t", url="u",
                    evidence="reported", first_seen=when, last_seen=when, summary="",
                    fingerprint="",
                )
            )  # fmt: skip
            for company in ("moneygram", "casio"):
                await conn.execute(
                    subscriptions.insert().values(
                        guild_id=guild, channel_id=channel, company_key=company,
                        company_name=company, created_at=when, status="ok",
                    )
                )  # fmt: skip
            for target, status in (
                (f"channel:{channel}", "pending"),
                (f"channel:{channel + 1}", "pending"),  # unsubscribed since
                ("webhook:soc", "pending"),
            ):
                await conn.execute(
                    deliveries.insert().values(
                        target=target, incident_id=1, disclosure_id="d1", kind="alert",
                        payload="{}", status=status, attempts=0, next_attempt_at=when,
                        created_at=when,
                    )
                )  # fmt: skip
            await conn.execute(
                deliveries.insert().values(
                    target=f"channel:{channel}", incident_id=1, disclosure_id="d2",
                    kind="update", payload="{}", status="sent", attempts=1,
                    next_attempt_at=when, created_at=when,
                )
            )  # fmt: skip
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(deliveries.c.target, deliveries.c.status, deliveries.c.guild_id)
            )
            found = {(r.target, r.status): r.guild_id for r in rows}
        assert found == {
            (f"channel:{channel}", "pending"): guild,
            (f"channel:{channel + 1}", "pending"): None,
            ("webhook:soc", "pending"): None,
            (f"channel:{channel}", "sent"): None,
        }
    finally:
        await engine.dispose()


async def test_upgrade_gives_stored_matches_their_time_and_opener(any_db_url: str) -> None:
    """Revision 0004 dates each stored match by its disclosure's publication (first seen
    without one, or with one days after it was seen), marks the match that opened each
    incident, spans each incident over its matches; grouping then works on the old data."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from bot.core import incidents as rules
    from bot.core.matching import Match
    from bot.core.watchlist import Company
    from bot.store.schema import incidents, matches
    from scrapers.models import Disclosure

    seen = datetime(2024, 10, 10, 9, 0, tzinfo=UTC)
    published = {
        "d1": datetime(2024, 10, 8, 12, 0, tzinfo=UTC),  # the opener, a day later
        "d2": None,  # no date: first seen
        "d3": datetime(2031, 1, 1, tzinfo=UTC),  # a broken date in the future
        "d4": datetime(2024, 10, 9, 8, 0, tzinfo=UTC),  # recorded with d3, took the title
    }
    created = {"d1": seen, "d2": seen + timedelta(hours=1), "d3": seen, "d4": seen}
    engine = create_async_engine(any_db_url)
    try:
        await migrate.upgrade(engine, "0003")
        async with engine.begin() as conn:
            for n, (key, when) in enumerate(published.items()):
                await conn.execute(
                    text(
                        "INSERT INTO disclosures (id, source, url, url_key, title, summary,"
                        " published, first_seen, evidence) VALUES (:id, 'the-record', :url,"
                        " :key, :title, '', :published, :seen, 'reported')"
                    ),
                    {"id": key, "url": f"https://therecord.media/{n}", "key": f"k{n}",
                     "title": f"Casio story {key}", "published": when, "seen": seen},
                )  # fmt: skip
            for incident, title in ((1, "Casio story d1"), (2, "Casio story d4")):
                await conn.execute(
                    text(
                        "INSERT INTO incidents (id, company_key, company_name, title, url,"
                        " evidence, first_seen, last_seen, summary, fingerprint) VALUES"
                        " (:id, 'casio', 'Casio', :title, 'u', 'reported', :seen, :seen, '', '')"
                    ),
                    {"id": incident, "title": title, "seen": seen},
                )
            for key, incident in (("d1", 1), ("d2", 1), ("d3", 2), ("d4", 2)):
                await conn.execute(
                    text(
                        "INSERT INTO matches (disclosure_id, company_key, company_name, matched,"
                        " reason, incident_id, created_at) VALUES (:key, 'casio', 'Casio', '[]',"
                        " '', :incident, :created)"
                    ),
                    {"key": key, "incident": incident, "created": created[key]},
                )
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(matches.c.disclosure_id, matches.c.event_at, matches.c.opened)
            )
            found = {r.disclosure_id: (r.event_at.replace(tzinfo=UTC) if r.event_at.tzinfo is None
                                       else r.event_at, r.opened) for r in rows}  # fmt: skip
            spans = {
                r.id: tuple(t.replace(tzinfo=UTC) if t.tzinfo is None else t for t in r[1:])
                for r in await conn.execute(
                    select(incidents.c.id, incidents.c.started_at, incidents.c.ended_at)
                )
            }
    finally:
        await engine.dispose()
    assert found == {
        "d1": (published["d1"], True),
        "d2": (seen, False),
        "d3": (seen, False),
        "d4": (published["d4"], True),
    }
    assert spans == {1: (published["d1"], seen), 2: (published["d4"], seen)}
    store = await Store.open(any_db_url, create=False)
    try:
        later = Disclosure(
            source="bleepingcomputer",
            title="Casio story d1 - BleepingComputer",
            url="https://www.bleepingcomputer.com/casio",
            published=seen + timedelta(days=2),
        )
        await store.add_disclosures([later], now=seen + timedelta(days=2))
        casio = Company(name="Casio")
        placed = await rules.place(store, later, Match(casio, ("Casio",), "t"), seen)
        assert (placed.incident_id, placed.created, placed.repeat) == (1, False, True)
    finally:
        await store.close()


async def test_upgrade_makes_alerts_put_off_by_the_old_backoff_due(any_db_url: str) -> None:
    """Revision 0005 adds each target's health; alerts an older release put off for up to
    an hour (and those behind them) are due at once, and a claim hands them out."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from bot.store.schema import deliveries, disclosures, incidents

    when = datetime(2024, 10, 10, 9, 0, tzinfo=UTC)
    engine = create_async_engine(any_db_url)
    try:
        await migrate.upgrade(engine, "0003")
        async with engine.begin() as conn:
            await conn.execute(
                disclosures.insert().values(
                    id="d1", source="the-record", url="https://therecord.media/1", url_key="k1",
                    title="MoneyGram cyberattack", summary="", first_seen=when,
                    evidence="reported",
                )
            )  # fmt: skip
            await conn.execute(
                incidents.insert().values(
                    id=1, company_key="moneygram", company_name="MoneyGram", title="t", url="u",
                    evidence="reported", first_seen=when, last_seen=when, summary="",
                    fingerprint="",
                )
            )  # fmt: skip
            for target, status, later in (
                ("webhook:soc", "pending", timedelta(minutes=64)),  # backed off
                ("webhook:legal", "pending", timedelta(0)),
                ("webhook:old", "sent", timedelta(minutes=30)),
            ):
                await conn.execute(
                    deliveries.insert().values(
                        target=target, incident_id=1, disclosure_id="d1", kind="alert",
                        payload="{}", status=status, attempts=3, next_attempt_at=when + later,
                        created_at=when, last_error="500",
                    )
                )  # fmt: skip
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            due = {
                r.target: r.next_attempt_at
                for r in await conn.execute(
                    select(deliveries.c.target, deliveries.c.next_attempt_at)
                )
            }
        assert {k: v.replace(tzinfo=UTC) for k, v in due.items()} == {
            "webhook:soc": when,
            "webhook:legal": when,
            "webhook:old": when + timedelta(minutes=30),
        }
    finally:
        await engine.dispose()
    store = await Store.open(any_db_url, create=False)
    try:
        claims = await store.claim(owner="after", now=when)
        assert sorted(c.target for c in claims) == ["webhook:legal", "webhook:soc"]
        assert all(c.state == "up" for c in claims)
    finally:
        await store.close()
