"""Incidents and the matches that attach disclosures to them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update

from bot.core.clock import utcnow
from bot.core.records import IncidentRow
from bot.store.database import CHUNK, Database, aware
from bot.store.schema import disclosures, incidents, matches
from scrapers.models import Disclosure, Evidence


class IncidentRepository:
    """``incidents`` (one event at one company) and ``matches`` (who reported it)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def recent_incidents(self, company_key: str, since: datetime) -> list[IncidentRow]:
        """Incidents of one company seen since ``since``, newest first."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(incidents)
                .where(incidents.c.company_key == company_key, incidents.c.last_seen >= since)
                .order_by(incidents.c.last_seen.desc())
            )
            return [_incident(r) for r in rows]

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
        upgrades the incident's evidence level.
        """
        when = now or utcnow()
        async with self.db.engine.begin() as conn:
            created = incident_id is None
            if incident_id is None:
                result = await conn.execute(
                    incidents.insert()
                    .values(
                        company_key=company_key,
                        company_name=company_name,
                        title=disclosure.title,
                        url=disclosure.url,
                        evidence=disclosure.evidence.value,
                        first_seen=when,
                        last_seen=when,
                        published=disclosure.published,
                        summary=disclosure.summary[:1000],
                        fingerprint=fingerprint,
                    )
                    .returning(incidents.c.id)
                )
                incident_id = int(result.scalar_one())
            else:
                current = await conn.scalar(
                    select(incidents.c.evidence).where(incidents.c.id == incident_id)
                )
                values: dict[str, Any] = {"last_seen": when}
                if current and disclosure.evidence.rank > Evidence(current).rank:
                    values["evidence"] = disclosure.evidence.value
                    # A company statement is the best link to show.
                    values["url"] = disclosure.url
                    values["title"] = disclosure.title
                await conn.execute(
                    update(incidents).where(incidents.c.id == incident_id).values(**values)
                )
            await conn.execute(
                self.db.insert(matches)
                .values(
                    disclosure_id=disclosure.identity,
                    company_key=company_key,
                    company_name=company_name,
                    matched=json.dumps(list(matched), ensure_ascii=False),
                    reason=reason,
                    incident_id=incident_id,
                    created_at=when,
                )
                .on_conflict_do_nothing(index_elements=["disclosure_id", "company_key"])
            )
        return incident_id, created

    async def match_of(self, disclosure: Disclosure, company_key: str) -> tuple[int, bool] | None:
        """``(incident_id, opened_it)`` if ``disclosure`` was already matched to the company.

        Used when a poll is finished after a crash, so the redo joins the same incident
        and announces it the same way (an alert if this disclosure opened the incident).
        """
        async with self.db.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(matches.c.incident_id, matches.c.created_at).where(
                        matches.c.disclosure_id == disclosure.identity,
                        matches.c.company_key == company_key,
                    )
                )
            ).first()
            if row is None:
                return None
            earlier = await conn.scalar(
                select(func.count())
                .select_from(matches)
                .where(
                    matches.c.incident_id == row.incident_id,
                    matches.c.created_at < row.created_at,
                )
            )
            if earlier:
                return int(row.incident_id), False
            ties = await conn.scalar(
                select(func.count())
                .select_from(matches)
                .where(
                    matches.c.incident_id == row.incident_id,
                    matches.c.created_at == row.created_at,
                    matches.c.disclosure_id != disclosure.identity,
                )
            )
            if not ties:
                return int(row.incident_id), True
            # Several matches of one poll share a timestamp: the opener is the one whose
            # title the incident took. Compare the stored title, not today's parse of it,
            # since a feed may have retitled the item since.
            stored = await conn.scalar(
                select(disclosures.c.title).where(disclosures.c.id == disclosure.identity)
            )
            title = await conn.scalar(
                select(incidents.c.title).where(incidents.c.id == row.incident_id)
            )
            return int(row.incident_id), title == stored

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
    )
