"""Incidents and the matches that attach disclosures to them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, false, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.clock import utcnow
from bot.core.incidents import Neighbourhood, Story
from bot.core.records import IncidentRow
from bot.store.database import CHUNK, Database, aware
from bot.store.guilds import GuildRepository
from bot.store.outbox import OutboxRepository
from bot.store.schema import disclosures, incidents, matches
from scrapers.models import Disclosure, Evidence

# How each evidence level ranks, for the lead disclosure an incident shows.
_RANK = case(
    (disclosures.c.evidence == Evidence.CONFIRMED.value, Evidence.CONFIRMED.rank),
    (disclosures.c.evidence == Evidence.REPORTED.value, Evidence.REPORTED.rank),
    else_=Evidence.CLAIMED.rank,
)


def _lock_key(company_key: str) -> int:
    """A PostgreSQL advisory-lock key for one company (a signed 64-bit number)."""
    digest = hashlib.sha256(f"breachradar incidents {company_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class IncidentRepository:
    """``incidents`` (one event at one company) and ``matches`` (who reported it).

    Folding one incident into another also moves its alerts (``outbox``) and held digest
    entries (``guilds``), in the same transaction.
    """

    def __init__(self, db: Database, outbox: OutboxRepository, guilds: GuildRepository) -> None:
        self.db = db
        self.outbox = outbox
        self.guilds = guilds

    @asynccontextmanager
    async def book(self, company_key: str) -> AsyncIterator[CompanyBook]:
        """One company's incidents in one transaction; other writers of them wait."""
        async with self.db.engine.begin() as conn:
            if self.db.dialect == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(company_key)}
                )
            yield CompanyBook(self, conn, company_key)

    async def incident_url_keys(self, incident_id: int) -> set[str]:
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(disclosures.c.url_key)
                .join(matches, matches.c.disclosure_id == disclosures.c.id)
                .where(matches.c.incident_id == incident_id)
            )
            return {r[0] for r in rows}

    async def incident_stories(self, incident_id: int) -> list[tuple[str, str, str]]:
        """The ``(url_key, title, summary)`` of every disclosure behind an incident."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(disclosures.c.url_key, disclosures.c.title, disclosures.c.summary)
                .join(matches, matches.c.disclosure_id == disclosures.c.id)
                .where(matches.c.incident_id == incident_id)
            )
            return [(r[0], r[1], r[2] or "") for r in rows]

    async def record_match(
        self,
        disclosure: Disclosure,
        *,
        company_key: str,
        company_name: str,
        matched: Sequence[str],
        reason: str,
        incident_id: int | None,
        fingerprint: str = "",
        now: datetime | None = None,
    ) -> tuple[int, bool]:
        """Attach ``disclosure`` to an incident (a new one if ``incident_id`` is None).

        Return ``(incident_id, created)``. A later disclosure with stronger evidence
        becomes the one the incident shows. (Grouping goes through :meth:`book`.)
        """
        when = now or utcnow()
        async with self.book(company_key) as book:
            stored = await book.add(
                disclosure,
                Story.of(disclosure, when),
                incident_id=incident_id,
                company_name=company_name,
                matched=matched,
                reason=reason,
                now=when,
                fingerprint=fingerprint,
            )
            await book.refresh([stored])
        return stored, incident_id is None

    async def match_of(self, disclosure: Disclosure, company_key: str) -> tuple[int, bool] | None:
        """``(incident_id, opened_it)`` if ``disclosure`` was already matched to the company.

        Used when a poll is finished after a crash, so the redo joins the same incident
        and announces it the same way (an alert if this disclosure opened the incident).
        """
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(matches.c.incident_id, matches.c.opened).where(
                        matches.c.disclosure_id == disclosure.identity,
                        matches.c.company_key == company_key,
                    )
                )
            ).first()
        return None if row is None else (int(row.incident_id), bool(row.opened))

    async def incident_of_matches(
        self, pairs: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        """The incident each ``(disclosure_id, company_key)`` match is in now."""
        wanted = set(pairs)
        found: dict[tuple[str, str], int] = {}
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(matches.c.disclosure_id, matches.c.company_key, matches.c.incident_id)
            )
            for r in rows:
                if (r.disclosure_id, r.company_key) in wanted:
                    found[(r.disclosure_id, r.company_key)] = int(r.incident_id)
        return found

    async def get_incident(self, incident_id: int) -> IncidentRow | None:
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(select(incidents).where(incidents.c.id == incident_id))
            ).first()
            return _incident(row) if row is not None else None

    async def incident_sources(self, incident_id: int) -> list[dict[str, Any]]:
        """The disclosures behind an incident, oldest first."""
        return (await self.sources_of([incident_id])).get(incident_id, [])

    async def sources_of(self, incident_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        """The disclosures behind each of several incidents, oldest first, in one query each
        few hundred incidents."""
        ids = list(dict.fromkeys(incident_ids))
        found: dict[int, list[dict[str, Any]]] = {}
        async with self.db.engine.connect() as conn:
            for start in range(0, len(ids), CHUNK):
                rows = await conn.execute(
                    select(
                        matches.c.incident_id,
                        disclosures.c.source,
                        disclosures.c.title,
                        disclosures.c.url,
                        disclosures.c.evidence,
                        disclosures.c.published,
                        disclosures.c.first_seen,
                    )
                    .join(matches, matches.c.disclosure_id == disclosures.c.id)
                    .where(matches.c.incident_id.in_(ids[start : start + CHUNK]))
                    .order_by(disclosures.c.first_seen, disclosures.c.id)
                )
                for r in rows:
                    found.setdefault(int(r.incident_id), []).append(
                        {
                            "source": r.source,
                            "title": r.title,
                            "url": r.url,
                            "evidence": r.evidence,
                            "published": aware(r.published),
                            "first_seen": aware(r.first_seen),
                        }
                    )
        return found

    async def sightings_of(self, incident_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        """Each incident's disclosures with what the card needs: the stored extraction, the
        evidence, when it was published (or first seen), its source and link, oldest first."""
        ids = list(dict.fromkeys(incident_ids))
        found: dict[int, list[dict[str, Any]]] = {}
        async with self.db.engine.connect() as conn:
            for start in range(0, len(ids), CHUNK):
                rows = await conn.execute(
                    select(
                        matches.c.incident_id,
                        matches.c.company_name,
                        disclosures.c.id,
                        disclosures.c.source,
                        disclosures.c.url,
                        disclosures.c.title,
                        disclosures.c.summary,
                        disclosures.c.evidence,
                        disclosures.c.published,
                        disclosures.c.first_seen,
                        disclosures.c.card,
                    )
                    .join(matches, matches.c.disclosure_id == disclosures.c.id)
                    .where(matches.c.incident_id.in_(ids[start : start + CHUNK]))
                    .order_by(disclosures.c.first_seen, disclosures.c.id)
                )
                for r in rows:
                    try:
                        card = json.loads(r.card) if r.card else None
                    except ValueError:
                        card = None
                    found.setdefault(int(r.incident_id), []).append(
                        {
                            "id": r.id,
                            "company": r.company_name,
                            "source": r.source,
                            "url": r.url,
                            "title": r.title,
                            "summary": r.summary or "",
                            "evidence": r.evidence,
                            "published": aware(r.published),
                            "first_seen": aware(r.first_seen),
                            "card": card,
                        }
                    )
        return found

    async def about(self, key: str, limit: int) -> list[IncidentRow]:
        """Incidents of the company ``key`` (its key or its name, folded), latest first."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(incidents)
                .where(
                    or_(incidents.c.company_key == key, func.lower(incidents.c.company_name) == key)
                )
                .order_by(incidents.c.last_seen.desc(), incidents.c.id.desc())
                .limit(limit)
            )
            return [_incident(r) for r in rows]

    async def seen_since(
        self, company_keys: Iterable[str], since: datetime, limit: int
    ) -> list[IncidentRow]:
        """Incidents of these companies seen since ``since``, latest first."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(incidents)
                .where(incidents.c.company_key.in_(list(company_keys)))
                .where(incidents.c.last_seen >= since)
                .order_by(incidents.c.last_seen.desc())
                .limit(limit)
            )
            return [_incident(r) for r in rows]

    async def company_names(self, folded: str, limit: int) -> list[str]:
        """Distinct company names of incidents containing ``folded`` (any, if empty)."""
        async with self.db.engine.connect() as conn:
            query = select(incidents.c.company_name).distinct().limit(limit)
            if folded:
                query = query.where(func.lower(incidents.c.company_name).contains(folded))
            return [row[0] for row in await conn.execute(query)]


def _incident(r: Any) -> IncidentRow:
    return IncidentRow(
        id=r.id,
        company_key=r.company_key,
        company_name=r.company_name,
        title=r.title,
        url=r.url,
        evidence=Evidence(r.evidence),
        first_seen=aware(r.first_seen) or utcnow(),
        last_seen=aware(r.last_seen) or utcnow(),
        published=aware(r.published),
        summary=r.summary or "",
        fingerprint=r.fingerprint or "",
        started_at=aware(r.started_at),
        ended_at=aware(r.ended_at),
    )


_STORY_COLUMNS = (
    matches.c.disclosure_id,
    matches.c.incident_id,
    matches.c.event_at,
    disclosures.c.url_key,
    disclosures.c.title,
    disclosures.c.summary,
    disclosures.c.by_nature,
)


def _story(r: Any) -> Story:
    at = aware(r.event_at)
    assert at is not None
    return Story(
        key=r.disclosure_id,
        url_key=r.url_key,
        title=r.title,
        summary=r.summary or "",
        at=at,
        by_nature=bool(r.by_nature),
        incident=int(r.incident_id),
    )


class CompanyBook:
    """One company's stories and incidents, inside one transaction (``bot.core.incidents.Book``)."""

    def __init__(self, repo: IncidentRepository, conn: AsyncConnection, company_key: str) -> None:
        self.repo = repo
        self.conn = conn
        self.company_key = company_key

    def _stories(self) -> Any:
        return (
            select(*_STORY_COLUMNS)
            .join(disclosures, disclosures.c.id == matches.c.disclosure_id)
            .where(matches.c.company_key == self.company_key)
        )

    async def near(self, around: Neighbourhood) -> list[Story]:
        """The company's stories a new one may be linked to: published within the spans,
        with its link, or naming its month from years later."""
        published = or_(
            false(),
            *(and_(matches.c.event_at >= start, matches.c.event_at <= end)
              for start, end in around.spans),
        )  # fmt: skip
        start, end = around.naming_span
        naming = and_(
            matches.c.event_at > start,
            matches.c.event_at <= end,
            matches.c.dated.contains(around.naming, autoescape=True),
        )
        rows = await self.conn.execute(
            self._stories().where(or_(published, disclosures.c.url_key == around.url_key, naming))
        )
        return [_story(r) for r in rows]

    async def members(self, incident_ids: Collection[int]) -> list[Story]:
        ids = sorted(incident_ids)
        found: list[Story] = []
        for start in range(0, len(ids), CHUNK):
            rows = await self.conn.execute(
                self._stories().where(matches.c.incident_id.in_(ids[start : start + CHUNK]))
            )
            found += [_story(r) for r in rows]
        return found

    async def add(
        self,
        disclosure: Disclosure,
        story: Story,
        *,
        incident_id: int | None,
        company_name: str,
        matched: Sequence[str],
        reason: str,
        now: datetime,
        fingerprint: str = "",
    ) -> int:
        opened = incident_id is None
        if incident_id is None:
            incident_id = await self._insert_incident(
                company_name,
                title=disclosure.title,
                url=disclosure.url,
                evidence=disclosure.evidence.value,
                published=disclosure.published,
                summary=disclosure.summary,
                at=story.at,
                now=now,
                fingerprint=fingerprint,
            )
        await self.conn.execute(
            self.repo.db.insert(matches)
            .values(
                disclosure_id=disclosure.identity,
                company_key=self.company_key,
                company_name=company_name,
                matched=json.dumps(list(matched), ensure_ascii=False),
                reason=reason,
                incident_id=incident_id,
                created_at=now,
                event_at=story.at,
                dated=" ".join(story.dated_months),
                opened=opened,
            )
            .on_conflict_do_nothing(index_elements=["disclosure_id", "company_key"])
        )
        return incident_id

    async def _insert_incident(
        self,
        company_name: str,
        *,
        title: str,
        url: str,
        evidence: str,
        published: datetime | None,
        summary: str,
        at: datetime,
        now: datetime,
        fingerprint: str = "",
    ) -> int:
        result = await self.conn.execute(
            incidents.insert()
            .values(
                company_key=self.company_key,
                company_name=company_name,
                title=title,
                url=url,
                evidence=evidence,
                first_seen=now,
                last_seen=now,
                published=published,
                summary=summary[:1000],
                fingerprint=fingerprint,
                started_at=at,
                ended_at=at,
            )
            .returning(incidents.c.id)
        )
        return int(result.scalar_one())

    async def open(self, company_name: str, lead: Story, now: datetime) -> int:
        # What it shows is filled in by refresh, once its stories are in.
        return await self._insert_incident(
            company_name,
            title=lead.title,
            url="",
            evidence=Evidence.CLAIMED.value,
            published=None,
            summary=lead.summary,
            at=lead.at,
            now=now,
        )

    async def move(self, keys: Collection[str], incident_id: int) -> None:
        wanted = sorted(keys)
        for start in range(0, len(wanted), CHUNK):
            await self.conn.execute(
                update(matches)
                .where(
                    matches.c.company_key == self.company_key,
                    matches.c.disclosure_id.in_(wanted[start : start + CHUNK]),
                )
                .values(incident_id=incident_id, opened=False)
            )

    async def merge(self, survivor: int, absorbed: Collection[int]) -> None:
        """Fold ``absorbed`` into ``survivor``, which keeps its id and the alerts it has.

        Deliveries of the absorbed incidents follow it: those already sent stay as sent (a
        later update edits the first alert a target got), those still queued become
        updates of the survivor where the target already has its alert.
        """
        gone = sorted(set(absorbed) - {survivor})
        if not gone:
            return
        await self.conn.execute(
            update(matches)
            .where(matches.c.incident_id.in_(gone))
            .values(incident_id=survivor, opened=False)
        )
        await self.repo.outbox.fold_incidents(self.conn, survivor, gone)
        await self.repo.guilds.fold_digests(self.conn, survivor, gone)
        await self.conn.execute(delete(incidents).where(incidents.c.id.in_(gone)))

    async def refresh(self, incident_ids: Collection[int]) -> None:
        """What each incident shows, from its stories: the strongest evidence's disclosure
        (the earliest of equals) as title and link, the span of their times."""
        for incident_id in sorted(set(incident_ids)):
            await self.conn.execute(_REFRESH, {"incident": incident_id})


def _refresh_statement() -> Any:
    """One UPDATE that recomputes an incident from its matches, built once."""
    mine = matches.c.incident_id == bindparam("incident")
    joined = matches.join(disclosures, disclosures.c.id == matches.c.disclosure_id)

    def lead(column: Any) -> Any:
        return (
            select(column)
            .select_from(joined)
            .where(mine)
            .order_by(_RANK.desc(), matches.c.event_at, matches.c.created_at, disclosures.c.id)
            .limit(1)
            .scalar_subquery()
        )

    def span(aggregate: Any) -> Any:
        return select(aggregate).select_from(joined).where(mine).scalar_subquery()

    return (
        update(incidents)
        .where(
            incidents.c.id == bindparam("incident"),
            select(matches.c.incident_id).where(mine).exists(),
        )
        .values(
            title=lead(disclosures.c.title),
            url=lead(disclosures.c.url),
            summary=func.substr(func.coalesce(lead(disclosures.c.summary), ""), 1, 1000),
            evidence=lead(disclosures.c.evidence),
            started_at=span(func.min(matches.c.event_at)),
            ended_at=span(func.max(matches.c.event_at)),
            first_seen=span(func.min(matches.c.created_at)),
            last_seen=span(func.max(matches.c.created_at)),
            published=span(func.min(disclosures.c.published)),
        )
    )


_REFRESH = _refresh_statement()
