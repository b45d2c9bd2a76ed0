"""What Discord servers set up: their companies, subscriptions, settings, feeds, digests.

Every row here belongs to exactly one server, and every query that reads or changes a
server's data is scoped by its ``guild_id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.cards.filters import CardFilter
from bot.core.records import (
    GUILD_SOURCE_PREFIX,
    GuildSettings,
    GuildSource,
    HeldAlert,
    Subscription,
)
from bot.core.watchlist import Company
from bot.store.database import CHUNK, Database, aware
from bot.store.meta import MetaRepository
from bot.store.schema import (
    broken_channels,
    channel_filters,
    digest_items,
    guild_companies,
    guild_settings,
    guild_sources,
    subscriptions,
)
from scrapers.models import Evidence


class GuildRepository:
    """The tables of servers' own setup, the one place their SQL is written."""

    def __init__(self, db: Database, meta: MetaRepository | None = None) -> None:
        self.db = db
        self.meta = meta or MetaRepository(db)

    # -- companies -----------------------------------------------------------------------

    async def all_companies(self) -> list[Company]:
        """Every company any server added, oldest first (one per server and name)."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(select(guild_companies).order_by(guild_companies.c.id))
            return [_company(row) for row in rows]

    async def companies_of(self, guild_id: int) -> list[Company]:
        """The companies one server added, by name."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(guild_companies)
                .where(guild_companies.c.guild_id == guild_id)
                .order_by(guild_companies.c.name)
            )
            return [_company(r) for r in rows]

    async def save_company(
        self,
        guild_id: int,
        name: str,
        *,
        aliases: list[str],
        domains: list[str],
        by: int | None,
        now: datetime,
    ) -> Company:
        """Add the server's company ``name``, or extend the one it has; return the result."""
        key = name.casefold()
        async with self.db.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(guild_companies).where(
                        guild_companies.c.guild_id == guild_id, guild_companies.c.key == key
                    )
                )
            ).first()
            if row is None:
                await conn.execute(
                    guild_companies.insert().values(
                        guild_id=guild_id,
                        key=key,
                        name=name,
                        aliases=json.dumps(aliases, ensure_ascii=False),
                        domains=json.dumps(domains),
                        created_by=by,
                        created_at=now,
                    )
                )
            else:
                old = _company(row)
                aliases = list(dict.fromkeys([*old.aliases, *aliases]))
                domains = list(dict.fromkeys([*old.domains, *domains]))
                await conn.execute(
                    update(guild_companies)
                    .where(guild_companies.c.id == row.id)
                    .values(
                        aliases=json.dumps(aliases, ensure_ascii=False),
                        domains=json.dumps(domains),
                    )
                )
        return Company(name=name, aliases=tuple(aliases), domains=tuple(domains))

    # -- subscriptions -------------------------------------------------------------------

    async def routes(self) -> list[tuple[str, int, int]]:
        """``(company_key, channel_id, guild_id)`` of every subscription that is not broken."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    subscriptions.c.company_key,
                    subscriptions.c.channel_id,
                    subscriptions.c.guild_id,
                ).where(subscriptions.c.status == "ok")
            )
            return [(r.company_key, int(r.channel_id), int(r.guild_id)) for r in rows]

    async def subscribe(
        self,
        guild_id: int,
        channel_id: int,
        company: Company,
        *,
        by: int | None,
        now: datetime,
    ) -> bool:
        """Have the channel watch ``company``; False if it already did."""
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                self.db.insert(subscriptions)
                .values(
                    guild_id=guild_id,
                    channel_id=channel_id,
                    company_key=company.key,
                    company_name=company.name,
                    created_by=by,
                    created_at=now,
                    status="ok",
                )
                .on_conflict_do_nothing(index_elements=["guild_id", "channel_id", "company_key"])
                .returning(subscriptions.c.id)
            )
            return result.first() is not None

    async def import_subscriptions(
        self,
        guild_id: int,
        channel_id: int,
        companies: Sequence[Company],
        *,
        new_companies: Sequence[Company] = (),
        by: int | None,
        now: datetime,
        announce: Sequence[str] = (),
    ) -> set[str]:
        """Subscribe the channel to each of ``companies``, all in one transaction.

        ``new_companies`` become the server's own companies first (unless it has them).
        Companies the channel already watches are left as they are, so importing the same
        list again changes nothing. If anything was added, the counters ``announce`` are
        bumped in the same transaction: other processes learn of the import exactly when
        it is committed. Returns the keys of the companies newly subscribed.
        """
        async with self.db.engine.begin() as conn:
            rows: list[dict[str, Any]] = [
                {
                    "guild_id": guild_id,
                    "key": c.key,
                    "name": c.name,
                    "aliases": json.dumps(list(c.aliases), ensure_ascii=False),
                    "domains": json.dumps(list(c.domains)),
                    "created_by": by,
                    "created_at": now,
                }
                for c in new_companies
            ]
            for start in range(0, len(rows), CHUNK):
                await conn.execute(
                    self.db.insert(guild_companies).on_conflict_do_nothing(
                        index_elements=["guild_id", "key"]
                    ),
                    rows[start : start + CHUNK],
                )
            keys = list(dict.fromkeys(c.key for c in companies))
            watched: set[str] = set()
            for start in range(0, len(keys), CHUNK):
                found = await conn.execute(
                    select(subscriptions.c.company_key).where(
                        subscriptions.c.guild_id == guild_id,
                        subscriptions.c.channel_id == channel_id,
                        subscriptions.c.company_key.in_(keys[start : start + CHUNK]),
                    )
                )
                watched.update(r[0] for r in found)
            wanted = {c.key: c for c in companies if c.key not in watched}
            subs = [
                {
                    "guild_id": guild_id,
                    "channel_id": channel_id,
                    "company_key": key,
                    "company_name": company.name,
                    "created_by": by,
                    "created_at": now,
                    "status": "ok",
                }
                for key, company in wanted.items()
            ]
            for start in range(0, len(subs), CHUNK):
                await conn.execute(
                    self.db.insert(subscriptions).on_conflict_do_nothing(
                        index_elements=["guild_id", "channel_id", "company_key"]
                    ),
                    subs[start : start + CHUNK],
                )
            if wanted and announce:
                await self.meta.bump(conn, *announce)
        return set(wanted)

    async def unsubscribe(self, guild_id: int, company_key: str, channel_id: int | None) -> int:
        """Remove the server's subscriptions to the company (in one channel); count them."""
        query = delete(subscriptions).where(
            subscriptions.c.guild_id == guild_id, subscriptions.c.company_key == company_key
        )
        if channel_id is not None:
            query = query.where(subscriptions.c.channel_id == channel_id)
        async with self.db.engine.begin() as conn:
            return int((await conn.execute(query)).rowcount or 0)

    async def subscriptions_of(self, guild_id: int) -> list[Subscription]:
        """This server's subscriptions, by channel then company."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(subscriptions)
                .where(subscriptions.c.guild_id == guild_id)
                .order_by(subscriptions.c.channel_id, subscriptions.c.company_name)
            )
            return [
                Subscription(
                    guild_id=int(r.guild_id),
                    channel_id=int(r.channel_id),
                    company_key=r.company_key,
                    company_name=r.company_name,
                    status=r.status,
                    broken_reason=r.broken_reason,
                )
                for r in rows
            ]

    async def channel_guilds(self) -> dict[int, int]:
        """Every subscribed channel and its server."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(subscriptions.c.channel_id, subscriptions.c.guild_id).distinct()
            )
            return {int(r.channel_id): int(r.guild_id) for r in rows}

    def guild_of_channel(self, channel_id: int) -> Any:
        """The server whose subscriptions name the channel, as a subquery for another query."""
        return (
            select(func.min(subscriptions.c.guild_id))
            .where(subscriptions.c.channel_id == channel_id)
            .scalar_subquery()
        )

    # -- broken channels -----------------------------------------------------------------

    async def mark_broken(
        self, channel_id: int, reason: str, *, code: int | None, now: datetime
    ) -> None:
        """Record that Discord refused the channel and pause its subscriptions."""
        async with self.db.engine.begin() as conn:
            guild_id = await conn.scalar(
                select(subscriptions.c.guild_id)
                .where(subscriptions.c.channel_id == channel_id)
                .limit(1)
            )
            await conn.execute(
                self.db.insert(broken_channels)
                .values(
                    channel_id=channel_id, guild_id=guild_id, code=code, reason=reason, since=now
                )
                .on_conflict_do_update(
                    index_elements=["channel_id"], set_={"reason": reason, "code": code}
                )
            )
            await conn.execute(
                update(subscriptions)
                .where(subscriptions.c.channel_id == channel_id)
                .values(status="broken", broken_reason=reason)
            )

    async def repair(self, channel_id: int) -> None:
        """Forget that the channel was broken and resume its subscriptions."""
        async with self.db.engine.begin() as conn:
            await conn.execute(
                delete(broken_channels).where(broken_channels.c.channel_id == channel_id)
            )
            await conn.execute(
                update(subscriptions)
                .where(subscriptions.c.channel_id == channel_id)
                .values(status="ok", broken_reason=None)
            )

    async def is_broken(self, channel_id: int) -> bool:
        async with self.db.engine.connect() as conn:
            found = await conn.scalar(
                select(broken_channels.c.channel_id).where(
                    broken_channels.c.channel_id == channel_id
                )
            )
            return found is not None

    async def delivery_view(self) -> tuple[set[int], dict[int, GuildSettings]]:
        """The broken channels and every server's settings, read together."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(select(broken_channels.c.channel_id))
            broken = {int(r[0]) for r in rows}
            rows = await conn.execute(select(guild_settings))
            settings = {int(r.guild_id): _settings(r) for r in rows}
        return broken, settings

    # -- settings ------------------------------------------------------------------------

    async def settings_of(self, guild_id: int) -> GuildSettings | None:
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(guild_settings).where(guild_settings.c.guild_id == guild_id)
                )
            ).first()
        return None if row is None else _settings(row)

    async def save_settings(
        self, guild_id: int, settings: GuildSettings, *, by: int | None, now: datetime
    ) -> None:
        values: dict[str, Any] = {
            "mention_role_id": settings.mention_role_id,
            "min_evidence": settings.min_evidence.value,
            "mode": settings.mode,
            "updated_by": by,
            "updated_at": now,
        }
        async with self.db.engine.begin() as conn:
            await conn.execute(
                self.db.insert(guild_settings)
                .values(guild_id=guild_id, **values)
                .on_conflict_do_update(index_elements=["guild_id"], set_=values)
            )

    # -- channels' card filters ----------------------------------------------------------

    async def channel_filters(self) -> dict[int, CardFilter]:
        """Every channel's filter on incident cards (channels without one are not listed)."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(select(channel_filters))
            return {int(r.channel_id): _filter(r) for r in rows}

    async def filter_of(self, channel_id: int) -> CardFilter | None:
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(channel_filters).where(channel_filters.c.channel_id == channel_id)
                )
            ).first()
        return None if row is None else _filter(row)

    async def save_filter(
        self,
        guild_id: int,
        channel_id: int,
        wanted: CardFilter,
        *,
        by: int | None,
        now: datetime,
    ) -> None:
        """Set a channel's filter; a filter with no condition removes the row."""
        async with self.db.engine.begin() as conn:
            if not wanted.active:
                await conn.execute(
                    delete(channel_filters).where(channel_filters.c.channel_id == channel_id)
                )
                return
            values: dict[str, Any] = {
                "guild_id": guild_id,
                "min_affected": wanted.min_affected,
                "data": json.dumps(sorted(wanted.data)),
                "unknown_affected": wanted.unknown_affected,
                "updated_by": by,
                "updated_at": now,
            }
            await conn.execute(
                self.db.insert(channel_filters)
                .values(channel_id=channel_id, **values)
                .on_conflict_do_update(index_elements=["channel_id"], set_=values)
            )

    # -- digests -------------------------------------------------------------------------

    async def hold_for_digest(
        self,
        guild_id: int,
        channel_id: int,
        incident_id: int,
        payload: dict[str, Any],
        *,
        now: datetime,
    ) -> None:
        """Keep an alert for the channel's digest, replacing the incident's earlier one."""
        async with self.db.engine.begin() as conn:
            await conn.execute(
                delete(digest_items).where(
                    digest_items.c.channel_id == channel_id,
                    digest_items.c.incident_id == incident_id,
                    digest_items.c.sent_at.is_(None),
                )
            )
            await conn.execute(
                digest_items.insert().values(
                    guild_id=guild_id,
                    channel_id=channel_id,
                    incident_id=incident_id,
                    payload=json.dumps(payload, ensure_ascii=False, default=str),
                    created_at=now,
                )
            )

    async def fold_digests(
        self, conn: AsyncConnection, survivor: int, absorbed: Sequence[int]
    ) -> None:
        """Held digest entries of ``absorbed`` incidents become ``survivor``'s (inside the
        caller's transaction); a channel keeps one entry per incident, the latest."""
        rows = list(
            await conn.execute(
                select(digest_items.c.id, digest_items.c.channel_id, digest_items.c.payload)
                .where(
                    digest_items.c.incident_id.in_([survivor, *absorbed]),
                    digest_items.c.sent_at.is_(None),
                )
                .order_by(digest_items.c.id.desc())
            )
        )
        kept: set[int] = set()
        for r in rows:
            if r.channel_id in kept:
                await conn.execute(delete(digest_items).where(digest_items.c.id == r.id))
                continue
            kept.add(r.channel_id)
            payload = json.loads(r.payload)
            if isinstance(payload, dict):
                payload["incident"] = survivor
            await conn.execute(
                update(digest_items)
                .where(digest_items.c.id == r.id)
                .values(
                    incident_id=survivor,
                    payload=json.dumps(payload, ensure_ascii=False, default=str),
                )
            )

    async def held_alerts(self) -> list[HeldAlert]:
        """Every alert held for a digest not sent yet, oldest first."""
        async with self.db.engine.connect() as conn:
            rows = list(
                await conn.execute(
                    select(digest_items)
                    .where(digest_items.c.sent_at.is_(None))
                    .order_by(digest_items.c.id)
                )
            )
        return [
            HeldAlert(
                id=int(r.id),
                guild_id=int(r.guild_id),
                channel_id=int(r.channel_id),
                created_at=aware(r.created_at),
                payload=json.loads(r.payload),
            )
            for r in rows
        ]

    async def mark_digest_sent(self, ids: Iterable[int], now: datetime) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(digest_items).where(digest_items.c.id.in_(list(ids))).values(sent_at=now)
            )

    # -- feeds ---------------------------------------------------------------------------

    async def add_source(
        self,
        guild_id: int,
        page_url: str,
        feed_url: str,
        title: str | None,
        *,
        by: int | None,
        now: datetime,
    ) -> tuple[GuildSource, bool]:
        """Remember a feed for this server; return it and whether it was new."""
        async with self.db.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(guild_sources).where(
                        guild_sources.c.guild_id == guild_id, guild_sources.c.feed_url == feed_url
                    )
                )
            ).first()
            if row is not None:
                return _source(row), False
            count = await conn.scalar(select(func.count()).select_from(guild_sources))
            name = f"{GUILD_SOURCE_PREFIX}{guild_id}-{int(count or 0) + 1}"
            await conn.execute(
                guild_sources.insert().values(
                    guild_id=guild_id,
                    name=name,
                    page_url=page_url,
                    feed_url=feed_url,
                    title=(title or "")[:200] or None,
                    added_by=by,
                    created_at=now,
                )
            )
        return GuildSource(guild_id, name, page_url, feed_url, title), True

    async def all_sources(self) -> list[GuildSource]:
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(select(guild_sources).order_by(guild_sources.c.id))
            return [_source(r) for r in rows]

    async def sources_of(self, guild_id: int) -> list[GuildSource]:
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(guild_sources)
                .where(guild_sources.c.guild_id == guild_id)
                .order_by(guild_sources.c.id)
            )
            return [_source(r) for r in rows]


def _filter(row: Any) -> CardFilter:
    try:
        data = frozenset(json.loads(row.data or "[]"))
        return CardFilter(
            int(row.min_affected) if row.min_affected else None,
            data,
            row.unknown_affected if row.unknown_affected in ("hold", "alert") else "hold",
        )
    except (ValueError, TypeError):
        # A row another release wrote with a category this one does not know: keep the count.
        return CardFilter(int(row.min_affected) if row.min_affected else None)


def _settings(row: Any) -> GuildSettings:
    return GuildSettings(
        guild_id=int(row.guild_id),
        mention_role_id=int(row.mention_role_id) if row.mention_role_id else None,
        min_evidence=Evidence(row.min_evidence),
        mode=row.mode,
    )


def _company(row: Any) -> Company:
    return Company(
        name=row.name,
        aliases=tuple(json.loads(row.aliases or "[]")),
        domains=tuple(json.loads(row.domains or "[]")),
    )


def _source(row: Any) -> GuildSource:
    return GuildSource(int(row.guild_id), row.name, row.page_url, row.feed_url, row.title)
