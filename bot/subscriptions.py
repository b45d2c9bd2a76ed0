"""What each Discord server watches: companies, channel subscriptions, settings and feeds.

The slash commands are thin over this module, so everything here is testable without
Discord. Every query that reads or changes a server's data is scoped by its ``guild_id``:
one server never sees or changes another's subscriptions, companies, sources or settings.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core.clock import utcnow
from bot.core.matching import Match
from bot.core.records import (
    GUILD_SOURCE_PREFIX,
    GuildSettings,
    GuildSource,
    HeldAlert,
    IncidentRow,
    Subscription,
)
from bot.core.watchlist import Company, Watchlist
from bot.store import Store
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


@dataclass(slots=True)
class ImportReport:
    """What ``/watch import`` did with each line."""

    added: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (line, why)


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
        for company_key, channel_id, guild_id in await self.store.guilds.routes():
            index.setdefault(company_key, set()).add(channel_id)
            guild_of[channel_id] = guild_id
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
        for company in await self.store.guilds.all_companies():
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
        return await self.store.guilds.companies_of(guild_id)

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
        company = await self.store.guilds.save_company(
            guild_id, name, aliases=alias_list, domains=domain_list, by=by, now=utcnow()
        )
        await self._changed(companies=True)
        return company

    async def suggestions(self, guild_id: int, typed: str, limit: int = 25) -> list[str]:
        """Company names for autocomplete: known companies, then earlier disclosures."""
        folded = typed.casefold().strip()
        names: dict[str, str] = {}
        for company in [*self.watchlist.companies, *await self.guild_companies(guild_id)]:
            if any(folded in n.casefold() for n in company.names):
                names.setdefault(company.key, company.name)
        for name in await self.store.incidents.company_names(folded, limit * 2):
            names.setdefault(name.casefold(), name)
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
        return await self.store.guilds.subscribe(guild_id, channel_id, company, by=by, now=utcnow())

    async def unsubscribe(self, guild_id: int, name: str, channel_id: int | None = None) -> int:
        """Stop watching ``name`` (in one channel, or all of this server's); return how many."""
        company = await self.resolve(guild_id, name)
        key = company.key if company else name.strip().casefold()
        removed = await self.store.guilds.unsubscribe(guild_id, key, channel_id)
        if removed:
            await self._changed(companies=False)
        return removed

    async def for_guild(self, guild_id: int) -> list[Subscription]:
        """This server's subscriptions, by channel then company."""
        return await self.store.guilds.subscriptions_of(guild_id)

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
        await self.store.guilds.add_company_if_new(
            guild_id, name, clean_aliases, by=by, now=utcnow()
        )
        return Company(name=name, aliases=tuple(clean_aliases))

    async def channel_ids(self) -> dict[int, int]:
        """Every subscribed channel and its server."""
        return await self.store.guilds.channel_guilds()

    # -- broken channels -----------------------------------------------------------------

    async def mark_broken(self, channel_id: int, reason: str, *, code: int | None = None) -> None:
        """Stop delivering to a channel Discord refused, and say why in ``/watch list``."""
        await self.store.guilds.mark_broken(channel_id, reason, code=code, now=utcnow())
        self._forget_delivery_cache()
        await self._changed(companies=False)

    async def repair(self, channel_id: int) -> None:
        """The channel works again: deliver to it again."""
        await self.store.guilds.repair(channel_id)
        self._forget_delivery_cache()
        await self._changed(companies=False)

    async def is_broken(self, channel_id: int, *, cached: bool = False) -> bool:
        """Whether the channel is marked broken; ``cached``: as deliveries see it."""
        if cached:
            return channel_id in (await self._delivery_cache()).broken
        return await self.store.guilds.is_broken(channel_id)

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
            broken, settings = await self.store.guilds.delivery_view()
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
        await self.store.guilds.hold_for_digest(
            guild_id, channel_id, incident_id, body, now=utcnow()
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
        by_channel: dict[int, list[HeldAlert]] = {}
        for held in await self.store.guilds.held_alerts():
            if guilds is not None and not guilds(held.guild_id):
                continue
            by_channel.setdefault(held.channel_id, []).append(held)
        due: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for channel_id, items in by_channel.items():
            oldest = min((h.created_at or now) for h in items)
            if now - oldest >= period:
                due[channel_id] = [(h.id, h.payload) for h in items]
        return due

    async def mark_digest_sent(self, ids: Iterable[int], now: datetime) -> None:
        await self.store.guilds.mark_digest_sent(ids, now)

    # -- settings ------------------------------------------------------------------------

    async def settings(self, guild_id: int, *, cached: bool = False) -> GuildSettings:
        """How the server wants its alerts; ``cached``: as deliveries see it."""
        if cached:
            found = (await self._delivery_cache()).settings.get(guild_id)
            return found if found is not None else GuildSettings(guild_id)
        found = await self.store.guilds.settings_of(guild_id)
        return GuildSettings(guild_id) if found is None else found

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
        wanted = GuildSettings(
            guild_id,
            mention_role_id=role,
            min_evidence=min_evidence or current.min_evidence,
            mode=mode or current.mode,
        )
        await self.store.guilds.save_settings(guild_id, wanted, by=by, now=utcnow())
        self._forget_delivery_cache()
        return await self.settings(guild_id)

    # -- sources -------------------------------------------------------------------------

    async def add_source(
        self, guild_id: int, page_url: str, feed_url: str, title: str | None, by: int | None
    ) -> tuple[GuildSource, bool]:
        """Remember a feed for this server; return it and whether it was new."""
        return await self.store.guilds.add_source(
            guild_id, page_url, feed_url, title, by=by, now=utcnow()
        )

    async def all_sources(self) -> list[GuildSource]:
        """Every server's feeds, for the poller only (never shown to a server)."""
        return await self.store.guilds.all_sources()

    async def sources(self, guild_id: int) -> list[GuildSource]:
        return await self.store.guilds.sources_of(guild_id)

    # -- reading -------------------------------------------------------------------------

    async def lookup(self, guild_id: int, name: str, limit: int = 50) -> list[LookupEntry]:
        """Incidents about ``name`` (any company in the database), newest first."""
        company = await self.resolve(guild_id, name)
        key = company.key if company else name.strip().casefold()
        found = await self.store.incidents.about(key, limit)
        # The sources of every incident found, read together.
        sources_of = await self.store.incidents.sources_of(row.id for row in found)
        entries: list[LookupEntry] = []
        urls: set[str] = set()
        for row in found:
            sources = [
                src for src in sources_of.get(row.id, []) if visible_to(src["source"], guild_id)
            ]
            if not sources:
                continue  # known only from another server's own feed
            urls.update(s["url"] for s in sources)
            entries.append(
                LookupEntry(
                    title=row.title,
                    url=row.url,
                    company=row.company_name,
                    evidence=row.evidence,
                    first_seen=row.first_seen,
                    published=row.published,
                    sources=tuple((s["source"], s["url"]) for s in sources),
                )
            )
        # Disclosures that name the company but never matched a watchlist (not watched).
        needle = (company.name if company else name.strip()).casefold()
        if len(needle) >= 3 and len(entries) < limit:
            for d in await self.store.disclosures.naming(needle, limit - len(entries)):
                if not visible_to(d["source"], guild_id):
                    continue
                if d["url"] in urls:
                    continue
                entries.append(
                    LookupEntry(
                        title=d["title"],
                        url=d["url"],
                        company=company.name if company else name.strip(),
                        evidence=Evidence(d["evidence"]),
                        first_seen=d["first_seen"] or utcnow(),
                        published=d["published"],
                        sources=((d["source"], d["url"]),),
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
        return await self.store.incidents.seen_since(keys, since, limit=100)


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


async def connect_pipeline(pipeline: Any, subs: Subscriptions) -> None:
    """Route a pipeline's matches to subscribed channels and match servers' companies too."""
    from bot.core.matching import Matcher

    pipeline.extra_targets = subs.targets_for
    pipeline.matcher = Matcher(await subs.all_companies())

    def rebuild(companies: list[Company]) -> None:
        pipeline.matcher = Matcher(companies)

    subs.on_companies_changed(rebuild)
