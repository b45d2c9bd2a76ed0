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
from bot.subscriptions.index import COMPANIES_VERSION, SUBSCRIPTIONS_VERSION
from bot.subscriptions.names import SubscriptionError, clean_name

IMPORT_MAX_LINES = 10_000
_HEADER_WORDS = {"name", "company", "vendor", "vendors", "supplier", "companies", "organization"}
# A second CSV field that is only a legal form belongs to the name: "Block, Inc.".
_LEGAL_FORMS = frozenset(
    "inc inc. incorporated ltd ltd. limited llc l.l.c. corp corp. corporation co co. plc "
    "lp l.p. llp gmbh ag sa s.a. se nv n.v. bv b.v. ab oy asa spa s.p.a. kk k.k.".split()
)


@dataclass(frozen=True, slots=True)
class ImportLine:
    """What an import did with one line of the file."""

    number: int  # the line of the file, from 1
    name: str  # the company as the line names it (shortened for display)
    outcome: str  # added | already | duplicate | refused
    detail: str = ""  # why it was not added, for people

    def describe(self) -> str:
        return f"line {self.number}: {self.name or '(empty)'}: {self.detail or self.outcome}"


@dataclass(slots=True)
class ImportReport:
    """What ``/watch import`` and ``breachradar watch import`` did with each line."""

    added: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (line, why)
    lines: list[ImportLine] = field(default_factory=list)  # every line that named something

    @property
    def refused(self) -> list[ImportLine]:
        """Lines that could not be applied: a bad name, say."""
        return [line for line in self.lines if line.outcome == "refused"]

    @property
    def already(self) -> list[ImportLine]:
        """Lines naming a company the channel watched already (a retry finds all of them)."""
        return [line for line in self.lines if line.outcome == "already"]

    @property
    def duplicates(self) -> list[ImportLine]:
        """Lines naming a company an earlier line of the file named."""
        return [line for line in self.lines if line.outcome == "duplicate"]

    def not_added(self) -> str:
        """One line per line of the file that was not added, for a report file."""
        return "".join(line.describe() + "\n" for line in self.lines if line.outcome != "added")

    def as_json(self) -> dict[str, object]:
        return {
            "added": len(self.added),
            "already": len(self.already),
            "duplicates": len(self.duplicates),
            "refused": len(self.refused),
            "lines": [
                {"line": x.number, "name": x.name, "outcome": x.outcome, "detail": x.detail}
                for x in self.lines
            ],
        }


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """CSV rows with the line each starts on (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text))
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for row in reader:
            rows.append((line, row))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise SubscriptionError(f"The file is not readable as text or CSV ({exc}).") from None
    return rows


def _name_and_aliases(row: list[str]) -> tuple[str, tuple[str, ...]]:
    fields = [f.strip() for f in row]
    name = fields[0]
    rest = fields[1:]
    if rest and rest[0].casefold() in _LEGAL_FORMS:
        name, rest = f"{name}, {rest[0]}", rest[1:]
    return name, tuple(a for a in rest if a)


class Channels:
    """Which of a server's channels watch which companies."""

    def __init__(
        self,
        store: Store,
        watchlist: Watchlist,
        companies: Companies,
        changed: Changed,
        cache: DeliveryCache,
        *,
        reload: Changed | None = None,
    ) -> None:
        self.store = store
        self._reload = reload  # after a change already announced in its own transaction
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
        """Subscribe a channel to every vendor of a text or CSV file (name first).

        Everything is applied in one transaction, followed by one reload of the routing,
        so thousands of lines take seconds; a line that cannot be applied is reported with
        its number and the reason, and the rest still are. Importing the same file again
        adds nothing: each line then reports the company as already watched.
        """
        report = ImportReport()
        # Files from any system: CRLF, bare CR (old Mac exports) and LF all end a line.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if len(text.splitlines()) > IMPORT_MAX_LINES:
            raise SubscriptionError(f"The file has more than {IMPORT_MAX_LINES:,} lines.")
        rows = _rows(text)
        existing = {
            s.company_key for s in await self.for_guild(guild_id) if s.channel_id == channel_id
        }
        # One read of each list of names, not one per line.
        known: dict[str, Company] = {}
        for company in self.watchlist.companies:
            for alias in company.names:
                known.setdefault(alias.casefold(), company)
        own: dict[str, Company] = {}
        for company in await self.companies.guild_companies(guild_id):
            for alias in company.names:
                own.setdefault(alias.casefold(), company)
        seen: dict[str, int] = {}
        pending: list[tuple[int, str, Company]] = []
        new_companies: dict[str, Company] = {}

        def skip(number: int, name: str, outcome: str, why: str) -> None:
            name = " ".join(name.split())  # a quoted CSV field may hold line breaks
            report.lines.append(ImportLine(number, name[:100], outcome, why))
            report.skipped.append((name[:60], why))

        for number, row in rows:
            if not row or not "".join(row).strip():
                continue
            raw, aliases = _name_and_aliases(row)
            if raw.startswith("#"):
                continue
            if number == 1 and raw.casefold() in _HEADER_WORDS:
                continue  # a CSV header
            try:
                name = clean_name(raw)
                clean_aliases = tuple(clean_name(a) for a in aliases)
            except SubscriptionError as exc:
                skip(number, raw, "refused", str(exc))
                continue
            key = name.casefold()
            if key in seen:
                skip(number, name, "duplicate", f"listed twice (first on line {seen[key]})")
                continue
            seen[key] = number
            found = known.get(key) or own.get(key)
            if found is not None and found.key in existing:
                skip(number, name, "already", "already watched here")
                continue
            if found is None:
                found = new_companies[key] = Company(name=name, aliases=clean_aliases)
            pending.append((number, name, found))
        added: set[str] = set()
        if pending:
            added = await self.store.guilds.import_subscriptions(
                guild_id,
                channel_id,
                [company for _, _, company in pending],
                new_companies=list(new_companies.values()),
                by=by,
                now=utcnow(),
                announce=(SUBSCRIPTIONS_VERSION, COMPANIES_VERSION)
                if new_companies
                else (SUBSCRIPTIONS_VERSION,),
            )
        for number, name, company in pending:
            if company.key in added:
                report.added.append(company.name)
                report.lines.append(ImportLine(number, name[:100], "added"))
            else:  # another import of the same channel got there first
                skip(number, name, "already", "already watched here")
        report.lines.sort(key=lambda line: line.number)
        if added:
            # Announced in the import's own transaction: here, only reload.
            if self._reload is not None:
                await self._reload(bool(new_companies))
            else:
                await self._changed(bool(new_companies))
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
