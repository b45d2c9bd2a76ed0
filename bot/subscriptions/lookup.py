"""What the database knows about a company, as one server may see it: lookups, latest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core.cards import card_of, card_to_dict
from bot.core.clock import utcnow
from bot.core.records import IncidentRow
from bot.store import Store
from bot.subscriptions.channels import Channels
from bot.subscriptions.companies import Companies
from bot.subscriptions.feeds import visible_to
from bot.subscriptions.names import SubscriptionError
from scrapers.models import Evidence


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
    incident_id: int | None = None  # None: a stray disclosure, in no incident
    card: dict[str, Any] = field(default_factory=dict)  # card_to_dict's form


class Lookup:
    """Incidents and stray disclosures about a company; another server's own feeds hidden."""

    def __init__(self, store: Store, companies: Companies, channels: Channels) -> None:
        self.store = store
        self.companies = companies
        self.channels = channels

    async def lookup(
        self,
        guild_id: int,
        name: str,
        limit: int = 50,
        *,
        labels: Mapping[str, str] | None = None,
    ) -> list[LookupEntry]:
        """Incidents about ``name`` (any company in the database), newest first; the card
        names each source by ``labels`` (key -> name as written) where it has one."""
        company = await self.companies.resolve(guild_id, name)
        key = company.key if company else name.strip().casefold()
        found = await self.store.incidents.about(key, limit)
        # The sources of every incident found, read together.
        sources_of = await self.store.incidents.sources_of(row.id for row in found)
        sightings = await self.store.incidents.sightings_of(row.id for row in found)
        entries: list[LookupEntry] = []
        urls: set[str] = set()
        for row in found:
            sources = [
                src for src in sources_of.get(row.id, []) if visible_to(src["source"], guild_id)
            ]
            if not sources:
                continue  # known only from another server's own feed
            urls.update(s["url"] for s in sources)
            # The card from what this server may see (another server's own feeds left out).
            seen = [
                {**r, "source": (labels or {}).get(r["source"], r["source"])}
                for r in sightings.get(row.id, [])
                if visible_to(r["source"], guild_id)
            ]
            entries.append(
                LookupEntry(
                    title=row.title,
                    url=row.url,
                    company=row.company_name,
                    evidence=row.evidence,
                    first_seen=row.first_seen,
                    published=row.published,
                    sources=tuple((s["source"], s["url"]) for s in sources),
                    incident_id=row.id,
                    card=card_to_dict(card_of(seen)),
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
        keys = {s.company_key for s in await self.channels.for_guild(guild_id)}
        if not keys:
            return []
        since = utcnow() - timedelta(days=days)
        return await self.store.incidents.seen_since(keys, since, limit=100)
