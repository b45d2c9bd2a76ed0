"""Channels subscribed to companies: add, remove, import a list, pause a broken channel."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.core.clock import utcnow
from bot.core.records import Subscription
from bot.core.watchlist import Company, Watchlist
from bot.store import Store
from bot.subscriptions.cache import DeliveryCache
from bot.subscriptions.companies import Changed, Companies
from bot.subscriptions.names import SubscriptionError, clean_name

IMPORT_MAX_LINES = 2000
_HEADER_WORDS = {"name", "company", "vendor", "vendors", "supplier", "companies", "organization"}


@dataclass(slots=True)
class ImportReport:
    """What ``/watch import`` did with each line."""

    added: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (line, why)


class Channels:
    """Which of a server's channels watch which companies."""

    def __init__(
        self,
        store: Store,
        watchlist: Watchlist,
        companies: Companies,
        changed: Changed,
        cache: DeliveryCache,
    ) -> None:
        self.store = store
        self.watchlist = watchlist
        self.companies = companies
        self._changed = changed
        self.cache = cache  # what deliveries read: dropped when a channel breaks or heals

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
        company = await self.companies.resolve(guild_id, name)
        if company is None or (alias_list and self.watchlist.get(name) is None):
            company = await self.companies.add_company(guild_id, name, aliases=alias_list, by=by)
        added = await self._insert_subscription(guild_id, channel_id, company, by)
        if added:
            await self._changed(False)
        return company, added

    async def _insert_subscription(
        self, guild_id: int, channel_id: int, company: Company, by: int | None
    ) -> bool:
        return await self.store.guilds.subscribe(guild_id, channel_id, company, by=by, now=utcnow())

    async def unsubscribe(self, guild_id: int, name: str, channel_id: int | None = None) -> int:
        """Stop watching ``name`` (in one channel, or all of this server's); return how many."""
        company = await self.companies.resolve(guild_id, name)
        key = company.key if company else name.strip().casefold()
        removed = await self.store.guilds.unsubscribe(guild_id, key, channel_id)
        if removed:
            await self._changed(False)
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
        for known in await self.companies.guild_companies(guild_id):
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
                    company = await self.companies.add_company_quietly(guild_id, name, aliases, by)
                except SubscriptionError as exc:
                    report.skipped.append((name, str(exc)))
                    continue
            to_add.append(company)
        for company in to_add:
            if await self._insert_subscription(guild_id, channel_id, company, by):
                report.added.append(company.name)
            else:
                report.skipped.append((company.name, "already watched here"))
        await self._changed(True)
        return report

    async def channel_ids(self) -> dict[int, int]:
        """Every subscribed channel and its server."""
        return await self.store.guilds.channel_guilds()

    async def mark_broken(self, channel_id: int, reason: str, *, code: int | None = None) -> None:
        """Stop delivering to a channel Discord refused, and say why in ``/watch list``."""
        await self.store.guilds.mark_broken(channel_id, reason, code=code, now=utcnow())
        self.cache.forget()
        await self._changed(False)

    async def repair(self, channel_id: int) -> None:
        """The channel works again: deliver to it again."""
        await self.store.guilds.repair(channel_id)
        self.cache.forget()
        await self._changed(False)

    async def is_broken(self, channel_id: int, *, cached: bool = False) -> bool:
        """Whether the channel is marked broken; ``cached``: as deliveries see it."""
        if cached:
            return channel_id in (await self.cache.view()).broken
        return await self.store.guilds.is_broken(channel_id)
