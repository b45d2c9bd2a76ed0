"""What each Discord server watches: companies, channel subscriptions, settings and feeds.

The slash commands are thin over this module, so everything here is testable without
Discord. Every query that reads or changes a server's data is scoped by its ``guild_id``:
one server never sees or changes another's subscriptions, companies, sources or settings.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from bot.matching import Match
from bot.store import IncidentRow, Store, utcnow
from bot.store.schema import (
    broken_channels,
    digest_items,
    disclosures,
    guild_companies,
    guild_settings,
    guild_sources,
    incidents,
    subscriptions,
)
from bot.watchlist import Company, Watchlist
from scrapers.models import Evidence

log = logging.getLogger(__name__)

# Change counters in the meta table: every process that changes subscriptions (or adds a
# company) bumps them, and every process that routes matches reloads when they moved.
SUBSCRIPTIONS_VERSION = "subscriptions.version"
COMPANIES_VERSION = "subscriptions.companies_version"
RELOAD_EVERY = 5.0  # seconds between two checks of the counters

NAME_MAX = 100
IMPORT_MAX_LINES = 2000
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_HEADER_WORDS = {"name", "company", "vendor", "vendors", "supplier", "companies", "organization"}


class SubscriptionError(ValueError):
    """A request a server made that cannot be done; the message is shown to the user."""


@dataclass(frozen=True, slots=True)
class Subscription:
    """One channel watching one company."""

    guild_id: int
    channel_id: int
    company_key: str
    company_name: str
    status: str  # ok | broken
    broken_reason: str | None

    @property
    def broken(self) -> bool:
        return self.status != "ok"


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """How a server wants its alerts."""

    guild_id: int
    mention_role_id: int | None = None
    min_evidence: Evidence = Evidence.CLAIMED
    mode: str = "instant"  # instant | digest

    def wants(self, evidence: Evidence) -> bool:
        return evidence.rank >= self.min_evidence.rank


@dataclass(slots=True)
class ImportReport:
    """What ``/watch import`` did with each line."""

    added: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (line, why)


@dataclass(frozen=True, slots=True)
class GuildSource:
    """A feed one server added for itself."""

    guild_id: int
    name: str
    page_url: str
    feed_url: str
    title: str | None


@dataclass(frozen=True, slots=True)
class LookupEntry:
    """An incident with its sources, or a stray disclosure that names the company."""

    title: str
    url: str
    company: str
    evidence: Evidence
    first_seen: datetime
    published: datetime | None
    sources: tuple[tuple[str, str], ...]  # (source name, url)


def clean_name(raw: str) -> str:
    """Return a company name fit to store, or raise :class:`SubscriptionError`."""
    name = re.sub(r"\s+", " ", raw or "").strip().strip("\"'")
    if not name:
        raise SubscriptionError("The company name is empty.")
    if len(name) > NAME_MAX:
        raise SubscriptionError(f"The company name is longer than {NAME_MAX} characters.")
    if not any(ch.isalnum() for ch in name):
        raise SubscriptionError("The company name needs at least one letter or digit.")
    if re.search(r"@(everyone|here)|<[@#]", name):
        raise SubscriptionError("The company name cannot contain mentions.")
    return name


def split_list(raw: str | None) -> tuple[str, ...]:
    """Split a comma-separated option into clean, distinct items."""
    if not raw:
        return ()
    items = [re.sub(r"\s+", " ", part).strip() for part in raw.split(",")]
    return tuple(dict.fromkeys(i for i in items if i))


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        from datetime import UTC

        return value.replace(tzinfo=UTC)
    return value


class Subscriptions:
    """Servers' watchlists over the store, with an in-memory index for routing matches."""

    def __init__(self, store: Store, watchlist: Watchlist | None = None) -> None:
        self.store = store
        self.watchlist = watchlist or Watchlist()
        self._channels_by_company: dict[str, set[int]] = {}
        self._guild_of_channel: dict[int, int] = {}
        self._companies_changed: list[Callable[[list[Company]], None]] = []
        self._reloaded: list[Callable[[], None]] = []
        # The change counters the index was built at; (-1, -1): never loaded.
        self._versions: tuple[int, ...] = (-1, -1)
        # Every channel delivery asks whether its channel is broken and how its server
        # wants alerts (``cached=True``): both are read in one go and kept, dropped on
        # every change made here, and read again after ``cache_ttl`` seconds so that a
        # change another process made is seen soon. Commands and checks read the database.
        self.cache_ttl = 5.0
        self._cache: _DeliveryCache | None = None
        self._cache_generation = 0
        self._cache_lock = asyncio.Lock()

    # -- routing -------------------------------------------------------------------------

    async def load(self) -> None:
        """Rebuild the routing index from the database."""
        # Read the counters first: a change made after this read bumps them after it, so
        # the next refresh sees it even if the rows below already include it.
        versions = await self.store.counters(SUBSCRIPTIONS_VERSION, COMPANIES_VERSION)
        index: dict[str, set[int]] = {}
        guild_of: dict[int, int] = {}
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    subscriptions.c.company_key,
                    subscriptions.c.channel_id,
                    subscriptions.c.guild_id,
                ).where(subscriptions.c.status == "ok")
            )
            for row in rows:
                index.setdefault(row.company_key, set()).add(int(row.channel_id))
                guild_of[int(row.channel_id)] = int(row.guild_id)
        self._channels_by_company = index
        self._guild_of_channel = guild_of
        self._versions = versions

    async def refresh(self) -> bool:
        """Reload if any process changed subscriptions or companies since; say whether.

        A scraper routes matches with this index, so it picks up what servers subscribed
        through a bot process without a restart; a bot process picks up the subscriptions
        made through the processes of other shards.
        """
        before = self._versions
        if await self.store.counters(SUBSCRIPTIONS_VERSION, COMPANIES_VERSION) == before:
            return False
        await self.load()
        # A channel another process marked broken or repaired counts as a change too.
        self._forget_delivery_cache()
        log.info(
            "subscriptions changed elsewhere: reloaded (%d channels watch %d companies)",
            len(self._guild_of_channel),
            len(self._channels_by_company),
        )
        if self._versions[1] != before[1]:
            await self._notify_companies()
        for callback in self._reloaded:
            callback()
        return True

    async def watch(self, every: float = RELOAD_EVERY) -> None:
        """Refresh every ``every`` seconds until cancelled."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.refresh()
            except Exception:
                log.exception("could not check for changed subscriptions")

    def on_reloaded(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after a refresh found changes and reloaded them."""
        self._reloaded.append(callback)

    def targets_for(self, match: Match) -> list[str]:
        """Outbox targets (``channel:<id>``) for the channels watching the matched company."""
        return [
            f"channel:{c}" for c in sorted(self._channels_by_company.get(match.company.key, ()))
        ]

    def guild_of(self, channel_id: int) -> int | None:
        return self._guild_of_channel.get(channel_id)

    def on_companies_changed(self, callback: Callable[[list[Company]], None]) -> None:
        """Call ``callback`` with the full company set whenever a server adds one."""
        self._companies_changed.append(callback)

    async def _changed(self, companies: bool) -> None:
        # The change is committed; the counters tell the other processes to reload it.
        await self.store.bump_counters(
            SUBSCRIPTIONS_VERSION, *((COMPANIES_VERSION,) if companies else ())
        )
        await self.load()
        if companies:
            await self._notify_companies()

    async def _notify_companies(self) -> None:
        if self._companies_changed:
            everything = await self.all_companies()
            for callback in self._companies_changed:
                callback(everything)

    # -- companies -----------------------------------------------------------------------

    async def all_companies(self) -> list[Company]:
        """The operator's watchlist plus every company any server added, once each."""
        merged: dict[str, Company] = {c.key: c for c in self.watchlist.companies}
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(select(guild_companies).order_by(guild_companies.c.id))
            for row in rows:
                company = _company(row)
                known = merged.get(company.key)
                if known is None:
                    merged[company.key] = company
                else:
                    # Another server's aliases help everyone find the same company.
                    merged[company.key] = Company(
                        name=known.name,
                        aliases=tuple(dict.fromkeys([*known.aliases, *company.aliases])),
                        domains=tuple(dict.fromkeys([*known.domains, *company.domains])),
                        ticker=known.ticker,
                        cik=known.cik,
                        exclude=known.exclude,
                        related=known.related,
                    )
        return list(merged.values())

    async def guild_companies(self, guild_id: int) -> list[Company]:
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(guild_companies)
                .where(guild_companies.c.guild_id == guild_id)
                .order_by(guild_companies.c.name)
            )
            return [_company(r) for r in rows]

    async def resolve(self, guild_id: int, name: str) -> Company | None:
        """The company ``name`` means to this server: the watchlist, then its own companies."""
        known = self.watchlist.get(name)
        if known is not None:
            return known
        folded = name.casefold()
        for company in await self.guild_companies(guild_id):
            if company.key == folded or any(a.casefold() == folded for a in company.aliases):
                return company
        return None

    async def add_company(
        self,
        guild_id: int,
        name: str,
        *,
        aliases: Iterable[str] = (),
        domains: Iterable[str] = (),
        by: int | None = None,
    ) -> Company:
        """Add (or extend) this server's own company; return it."""
        name = clean_name(name)
        alias_list = [clean_name(a) for a in aliases]
        domain_list = [d.strip().lower().removeprefix("www.") for d in domains]
        for domain in domain_list:
            if not _DOMAIN.match(domain):
                raise SubscriptionError(f"{domain[:60]!r} is not a domain name like example.com.")
        key = name.casefold()
        async with self.store.engine.begin() as conn:
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
                        aliases=json.dumps(alias_list, ensure_ascii=False),
                        domains=json.dumps(domain_list),
                        created_by=by,
                        created_at=utcnow(),
                    )
                )
            else:
                old = _company(row)
                alias_list = list(dict.fromkeys([*old.aliases, *alias_list]))
                domain_list = list(dict.fromkeys([*old.domains, *domain_list]))
                await conn.execute(
                    update(guild_companies)
                    .where(guild_companies.c.id == row.id)
                    .values(
                        aliases=json.dumps(alias_list, ensure_ascii=False),
                        domains=json.dumps(domain_list),
                    )
                )
        await self._changed(companies=True)
        return Company(name=name, aliases=tuple(alias_list), domains=tuple(domain_list))

    async def suggestions(self, guild_id: int, typed: str, limit: int = 25) -> list[str]:
        """Company names for autocomplete: known companies, then earlier disclosures."""
        folded = typed.casefold().strip()
        names: dict[str, str] = {}
        for company in [*self.watchlist.companies, *await self.guild_companies(guild_id)]:
            if any(folded in n.casefold() for n in company.names):
                names.setdefault(company.key, company.name)
        async with self.store.engine.connect() as conn:
            query = select(incidents.c.company_name).distinct().limit(limit * 2)
            if folded:
                query = query.where(func.lower(incidents.c.company_name).contains(folded))
            for row in await conn.execute(query):
                names.setdefault(row[0].casefold(), row[0])
        ordered = sorted(
            names.values(), key=lambda n: (not n.casefold().startswith(folded), n.casefold())
        )
        return ordered[: min(limit, 25)]

    # -- subscriptions -------------------------------------------------------------------

    async def subscribe(
        self,
        guild_id: int,
        channel_id: int,
        name: str,
        *,
        aliases: Iterable[str] = (),
        by: int | None = None,
    ) -> tuple[Company, bool]:
        """Have ``channel_id`` watch ``name``; return the company and whether it was new.

        An unknown name becomes one of this server's own companies (with ``aliases``), and
        joins the set every source is matched against.
        """
        name = clean_name(name)
        alias_list = tuple(clean_name(a) for a in aliases)
        company = await self.resolve(guild_id, name)
        if company is None or (alias_list and self.watchlist.get(name) is None):
            company = await self.add_company(guild_id, name, aliases=alias_list, by=by)
        added = await self._insert_subscription(guild_id, channel_id, company, by)
        if added:
            await self._changed(companies=False)
        return company, added

    async def _insert_subscription(
        self, guild_id: int, channel_id: int, company: Company, by: int | None
    ) -> bool:
        async with self.store.engine.begin() as conn:
            result = await conn.execute(
                self.store._insert(subscriptions)
                .values(
                    guild_id=guild_id,
                    channel_id=channel_id,
                    company_key=company.key,
                    company_name=company.name,
                    created_by=by,
                    created_at=utcnow(),
                    status="ok",
                )
                .on_conflict_do_nothing(index_elements=["guild_id", "channel_id", "company_key"])
                .returning(subscriptions.c.id)
            )
            return result.first() is not None

    async def unsubscribe(self, guild_id: int, name: str, channel_id: int | None = None) -> int:
        """Stop watching ``name`` (in one channel, or all of this server's); return how many."""
        company = await self.resolve(guild_id, name)
        key = company.key if company else name.strip().casefold()
        query = delete(subscriptions).where(
            subscriptions.c.guild_id == guild_id, subscriptions.c.company_key == key
        )
        if channel_id is not None:
            query = query.where(subscriptions.c.channel_id == channel_id)
        async with self.store.engine.begin() as conn:
            removed = (await conn.execute(query)).rowcount or 0
        if removed:
            await self._changed(companies=False)
        return int(removed)

    async def for_guild(self, guild_id: int) -> list[Subscription]:
        """This server's subscriptions, by channel then company."""
        async with self.store.engine.connect() as conn:
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

    async def import_text(
        self, guild_id: int, channel_id: int, text: str, *, by: int | None = None
    ) -> ImportReport:
        """Subscribe a channel to every vendor in a text or CSV file (first column)."""
        report = ImportReport()
        # Files from any system: CRLF, bare CR (old Mac exports) and LF all end a line.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.splitlines()
        if len(lines) > IMPORT_MAX_LINES:
            raise SubscriptionError(f"The file has more than {IMPORT_MAX_LINES} lines.")
        existing = {
            s.company_key for s in await self.for_guild(guild_id) if s.channel_id == channel_id
        }
        seen: set[str] = set()
        to_add: list[Company] = []
        # One read of this server's companies, not one per line.
        own: dict[str, Company] = {}
        for known in await self.guild_companies(guild_id):
            for alias in known.names:
                own.setdefault(alias.casefold(), known)
        try:
            rows = list(csv.reader(io.StringIO(text)))
        except csv.Error as exc:
            raise SubscriptionError(f"The file is not readable as text or CSV ({exc}).") from None
        for number, row in enumerate(rows):
            if not row or not "".join(row).strip():
                continue
            raw = row[0].strip()
            if raw.startswith("#"):
                continue
            if number == 0 and raw.casefold() in _HEADER_WORDS:
                continue  # a CSV header
            try:
                name = clean_name(raw)
            except SubscriptionError as exc:
                report.skipped.append((raw[:60], str(exc)))
                continue
            aliases = tuple(a for a in (x.strip() for x in row[1:]) if a)
            key = name.casefold()
            if key in seen:
                report.skipped.append((name, "listed twice"))
                continue
            seen.add(key)
            company = self.watchlist.get(name) or own.get(key)
            if company is not None and company.key in existing:
                report.skipped.append((name, "already watched here"))
                continue
            if company is None:
                try:
                    company = await self._add_company_quiet(guild_id, name, aliases, by)
                except SubscriptionError as exc:
                    report.skipped.append((name, str(exc)))
                    continue
            to_add.append(company)
        for company in to_add:
            if await self._insert_subscription(guild_id, channel_id, company, by):
                report.added.append(company.name)
            else:
                report.skipped.append((company.name, "already watched here"))
        await self._changed(companies=True)
        return report

    async def _add_company_quiet(
        self, guild_id: int, name: str, aliases: tuple[str, ...], by: int | None
    ) -> Company:
        clean_aliases = [clean_name(a) for a in aliases]
        async with self.store.engine.begin() as conn:
            await conn.execute(
                self.store._insert(guild_companies)
                .values(
                    guild_id=guild_id,
                    key=name.casefold(),
                    name=name,
                    aliases=json.dumps(clean_aliases, ensure_ascii=False),
                    domains="[]",
                    created_by=by,
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["guild_id", "key"])
            )
        return Company(name=name, aliases=tuple(clean_aliases))

    async def channel_ids(self) -> dict[int, int]:
        """Every subscribed channel and its server."""
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(subscriptions.c.channel_id, subscriptions.c.guild_id).distinct()
            )
            return {int(r.channel_id): int(r.guild_id) for r in rows}

    # -- broken channels -----------------------------------------------------------------

    async def mark_broken(self, channel_id: int, reason: str, *, code: int | None = None) -> None:
        """Stop delivering to a channel Discord refused, and say why in ``/watch list``."""
        now = utcnow()
        async with self.store.engine.begin() as conn:
            guild_id = await conn.scalar(
                select(subscriptions.c.guild_id)
                .where(subscriptions.c.channel_id == channel_id)
                .limit(1)
            )
            await conn.execute(
                self.store._insert(broken_channels)
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
        self._forget_delivery_cache()
        await self._changed(companies=False)

    async def repair(self, channel_id: int) -> None:
        """The channel works again: deliver to it again."""
        async with self.store.engine.begin() as conn:
            await conn.execute(
                delete(broken_channels).where(broken_channels.c.channel_id == channel_id)
            )
            await conn.execute(
                update(subscriptions)
                .where(subscriptions.c.channel_id == channel_id)
                .values(status="ok", broken_reason=None)
            )
        self._forget_delivery_cache()
        await self._changed(companies=False)

    async def is_broken(self, channel_id: int, *, cached: bool = False) -> bool:
        """Whether the channel is marked broken; ``cached``: as deliveries see it."""
        if cached:
            return channel_id in (await self._delivery_cache()).broken
        async with self.store.engine.connect() as conn:
            found = await conn.scalar(
                select(broken_channels.c.channel_id).where(
                    broken_channels.c.channel_id == channel_id
                )
            )
            return found is not None

    # -- what deliveries read ------------------------------------------------------------

    async def _delivery_cache(self) -> _DeliveryCache:
        cache = self._cache
        if cache is not None and time.monotonic() - cache.loaded_at < self.cache_ttl:
            return cache
        # Many deliveries start at once: one of them reads, the others wait for it.
        async with self._cache_lock:
            cache = self._cache
            if cache is not None and time.monotonic() - cache.loaded_at < self.cache_ttl:
                return cache
            generation = self._cache_generation
            loaded_at = time.monotonic()
            async with self.store.engine.connect() as conn:
                rows = await conn.execute(select(broken_channels.c.channel_id))
                broken = {int(r[0]) for r in rows}
                rows = await conn.execute(select(guild_settings))
                settings = {int(r.guild_id): _settings(r) for r in rows}
            cache = _DeliveryCache(broken, settings, loaded_at)
            # A change made while this was being read may be missing from it: not kept then.
            if generation == self._cache_generation:
                self._cache = cache
            return cache

    def _forget_delivery_cache(self) -> None:
        self._cache = None
        self._cache_generation += 1

    # -- digests -------------------------------------------------------------------------

    async def hold_for_digest(
        self, guild_id: int, channel_id: int, payload: dict[str, Any]
    ) -> None:
        """Keep an alert for the channel's next digest (one entry per incident, the latest)."""
        incident_id = int(payload.get("incident") or 0)
        body = {k: v for k, v in payload.items() if k != "edit_message_id"}
        async with self.store.engine.begin() as conn:
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
                    payload=json.dumps(body, ensure_ascii=False, default=str),
                    created_at=utcnow(),
                )
            )

    async def due_digests(
        self,
        now: datetime,
        period: timedelta,
        *,
        guilds: Callable[[int | None], bool] | None = None,
    ) -> dict[int, list[tuple[int, dict[str, Any]]]]:
        """Channels whose oldest held alert is ``period`` old, with all their held alerts.

        ``guilds`` keeps the servers it accepts (a sharded bot's process: its shards').
        """
        async with self.store.engine.connect() as conn:
            rows = list(
                await conn.execute(
                    select(digest_items)
                    .where(digest_items.c.sent_at.is_(None))
                    .order_by(digest_items.c.id)
                )
            )
        by_channel: dict[int, list[Any]] = {}
        for row in rows:
            if guilds is not None and not guilds(int(row.guild_id)):
                continue
            by_channel.setdefault(int(row.channel_id), []).append(row)
        due: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for channel_id, items in by_channel.items():
            oldest = min((_aware(r.created_at) or now) for r in items)
            if now - oldest >= period:
                due[channel_id] = [(int(r.id), json.loads(r.payload)) for r in items]
        return due

    async def mark_digest_sent(self, ids: Iterable[int], now: datetime) -> None:
        async with self.store.engine.begin() as conn:
            await conn.execute(
                update(digest_items).where(digest_items.c.id.in_(list(ids))).values(sent_at=now)
            )

    # -- settings ------------------------------------------------------------------------

    async def settings(self, guild_id: int, *, cached: bool = False) -> GuildSettings:
        """How the server wants its alerts; ``cached``: as deliveries see it."""
        if cached:
            found = (await self._delivery_cache()).settings.get(guild_id)
            return found if found is not None else GuildSettings(guild_id)
        async with self.store.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(guild_settings).where(guild_settings.c.guild_id == guild_id)
                )
            ).first()
        return GuildSettings(guild_id) if row is None else _settings(row)

    async def update_settings(
        self,
        guild_id: int,
        *,
        by: int | None = None,
        mention_role_id: int | bool | None = False,  # False: leave as is; None: clear
        min_evidence: Evidence | None = None,
        mode: str | None = None,
    ) -> GuildSettings:
        """Change the settings given; return the result."""
        if mode is not None and mode not in ("instant", "digest"):
            raise SubscriptionError("Mode must be instant or digest.")
        current = await self.settings(guild_id)
        role = current.mention_role_id if mention_role_id is False else mention_role_id
        values: dict[str, Any] = {
            "mention_role_id": role,
            "min_evidence": (min_evidence or current.min_evidence).value,
            "mode": mode or current.mode,
            "updated_by": by,
            "updated_at": utcnow(),
        }
        async with self.store.engine.begin() as conn:
            await conn.execute(
                self.store._insert(guild_settings)
                .values(guild_id=guild_id, **values)
                .on_conflict_do_update(index_elements=["guild_id"], set_=values)
            )
        self._forget_delivery_cache()
        return await self.settings(guild_id)

    # -- sources -------------------------------------------------------------------------

    async def add_source(
        self, guild_id: int, page_url: str, feed_url: str, title: str | None, by: int | None
    ) -> tuple[GuildSource, bool]:
        """Remember a feed for this server; return it and whether it was new."""
        async with self.store.engine.begin() as conn:
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
                    created_at=utcnow(),
                )
            )
        return GuildSource(guild_id, name, page_url, feed_url, title), True

    async def all_sources(self) -> list[GuildSource]:
        """Every server's feeds, for the poller only (never shown to a server)."""
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(select(guild_sources).order_by(guild_sources.c.id))
            return [_source(r) for r in rows]

    async def sources(self, guild_id: int) -> list[GuildSource]:
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(guild_sources)
                .where(guild_sources.c.guild_id == guild_id)
                .order_by(guild_sources.c.id)
            )
            return [_source(r) for r in rows]

    # -- reading -------------------------------------------------------------------------

    async def lookup(self, guild_id: int, name: str, limit: int = 50) -> list[LookupEntry]:
        """Incidents about ``name`` (any company in the database), newest first."""
        company = await self.resolve(guild_id, name)
        key = company.key if company else name.strip().casefold()
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(incidents)
                .where(
                    or_(incidents.c.company_key == key, func.lower(incidents.c.company_name) == key)
                )
                .order_by(incidents.c.last_seen.desc(), incidents.c.id.desc())
                .limit(limit)
            )
            found = list(rows)
        entries: list[LookupEntry] = []
        urls: set[str] = set()
        for row in found:
            sources = [
                src
                for src in await self.store.incident_sources(row.id)
                if visible_to(src["source"], guild_id)
            ]
            if not sources:
                continue  # known only from another server's own feed
            urls.update(s["url"] for s in sources)
            entries.append(
                LookupEntry(
                    title=row.title,
                    url=row.url,
                    company=row.company_name,
                    evidence=Evidence(row.evidence),
                    first_seen=_aware(row.first_seen) or utcnow(),
                    published=_aware(row.published),
                    sources=tuple((s["source"], s["url"]) for s in sources),
                )
            )
        # Disclosures that name the company but never matched a watchlist (not watched).
        needle = (company.name if company else name.strip()).casefold()
        if len(needle) >= 3 and len(entries) < limit:
            async with self.store.engine.connect() as conn:
                stray = await conn.execute(
                    select(disclosures)
                    .where(
                        or_(
                            func.lower(disclosures.c.title).contains(needle, autoescape=True),
                            func.lower(disclosures.c.organization).contains(
                                needle, autoescape=True
                            ),
                        )
                    )
                    .order_by(disclosures.c.first_seen.desc())
                    .limit(limit - len(entries))
                )
                for d in stray:
                    if not visible_to(d.source, guild_id):
                        continue
                    if d.url in urls:
                        continue
                    entries.append(
                        LookupEntry(
                            title=d.title,
                            url=d.url,
                            company=company.name if company else name.strip(),
                            evidence=Evidence(d.evidence),
                            first_seen=_aware(d.first_seen) or utcnow(),
                            published=_aware(d.published),
                            sources=((d.source, d.url),),
                        )
                    )
        entries.sort(key=lambda e: e.first_seen, reverse=True)
        return entries

    async def latest(self, guild_id: int, days: int) -> list[IncidentRow]:
        """Incidents seen in the last ``days`` about companies this server watches."""
        if not 1 <= days <= 90:
            raise SubscriptionError("Days must be between 1 and 90.")
        keys = {s.company_key for s in await self.for_guild(guild_id)}
        if not keys:
            return []
        since = utcnow() - timedelta(days=days)
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                select(incidents.c.id)
                .where(incidents.c.company_key.in_(keys), incidents.c.last_seen >= since)
                .order_by(incidents.c.last_seen.desc())
                .limit(100)
            )
            ids = [r[0] for r in rows]
        out = []
        for incident_id in ids:
            row = await self.store.get_incident(incident_id)
            if row is not None:
                out.append(row)
        return out


GUILD_SOURCE_PREFIX = "guild-"


def visible_to(source_name: str, guild_id: int | None) -> bool:
    """Whether a source's items may be shown to ``guild_id``: a server's own feed is its own."""
    if not source_name.startswith(GUILD_SOURCE_PREFIX):
        return True
    return guild_id is not None and source_name.startswith(f"{GUILD_SOURCE_PREFIX}{guild_id}-")


@dataclass(frozen=True, slots=True)
class _DeliveryCache:
    """Broken channels and servers' settings as read at ``loaded_at`` (monotonic time)."""

    broken: set[int]
    settings: dict[int, GuildSettings]
    loaded_at: float


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


async def connect_pipeline(pipeline: Any, subs: Subscriptions) -> None:
    """Route a pipeline's matches to subscribed channels and match servers' companies too."""
    from bot.matching import Matcher

    pipeline.extra_targets = subs.targets_for
    pipeline.matcher = Matcher(await subs.all_companies())

    def rebuild(companies: list[Company]) -> None:
        pipeline.matcher = Matcher(companies)

    subs.on_companies_changed(rebuild)
