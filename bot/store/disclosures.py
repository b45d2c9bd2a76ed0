"""Every item any source produced, and the ones still held for matching."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.clock import utcnow
from bot.store.database import CHUNK, Database, aware
from bot.store.schema import disclosure_pending, disclosures
from scrapers.models import Disclosure


def disclosure_row(d: Disclosure, seen: datetime) -> dict[str, Any]:
    return {
        "id": d.identity,
        "source": d.source,
        "url": d.url,
        "url_key": d.url_key,
        "title": d.title,
        "summary": d.summary,
        "published": d.published,
        "first_seen": seen,
        "organization": d.organization,
        "evidence": d.evidence.value,
        "language": d.language,
        "by_nature": d.incident_by_nature,
    }


class DisclosureRepository:
    """``disclosures`` ("have we seen this?") and ``disclosure_pending`` (not yet queued)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert_new(self, conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Insert the rows whose id is unknown, inside the caller's transaction; return those."""
        new_ids: set[str] = set()
        for start in range(0, len(rows), CHUNK):
            result = await conn.execute(
                self.db.insert(disclosures)
                .on_conflict_do_nothing(index_elements=["id"])
                .returning(disclosures.c.id),
                list(rows[start : start + CHUNK]),
            )
            new_ids.update(row[0] for row in result)
        return new_ids

    async def add_disclosures(
        self, items: Iterable[Disclosure], *, now: datetime | None = None, hold: bool = False
    ) -> list[Disclosure]:
        """Store the items never seen before and return exactly those, in input order.

        With ``hold``, the new items are also marked pending in the same transaction, and
        items still pending from an interrupted poll are returned again, until
        :meth:`release_held` says their matches and alerts are safely queued.
        """
        seen_now = now or utcnow()
        unique: dict[str, Disclosure] = {}
        for item in items:
            unique.setdefault(item.identity, item)
        if not unique:
            return []
        fresh: set[str] = set()
        async with self.db.engine.begin() as conn:
            ids = list(unique)
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                new_ids = await self.insert_new(
                    conn, [disclosure_row(unique[i], seen_now) for i in chunk]
                )
                fresh.update(new_ids)
                if hold:
                    if new_ids:
                        await conn.execute(
                            self.db.insert(disclosure_pending).on_conflict_do_nothing(
                                index_elements=["id"]
                            ),
                            [
                                {"id": i, "source": unique[i].source, "created_at": seen_now}
                                for i in chunk
                                if i in new_ids
                            ],
                        )
                    held = await conn.execute(
                        select(disclosure_pending.c.id).where(disclosure_pending.c.id.in_(chunk))
                    )
                    fresh.update(r[0] for r in held)
        return [d for i, d in unique.items() if i in fresh]

    async def release_held(self, ids: Iterable[str]) -> None:
        """Forget that these disclosures still need matching (their alerts are queued)."""
        wanted = list(ids)
        if wanted:
            async with self.db.engine.begin() as conn:
                await self.release(conn, wanted)

    @staticmethod
    async def release(
        conn: AsyncConnection, wanted: list[str], *, source: str | None = None
    ) -> None:
        """Release held ids inside the caller's transaction (only ``source``'s, if given)."""
        for start in range(0, len(wanted), CHUNK):
            query = delete(disclosure_pending).where(
                disclosure_pending.c.id.in_(wanted[start : start + CHUNK])
            )
            if source is not None:
                query = query.where(disclosure_pending.c.source == source)
            await conn.execute(query)

    async def settle(self, conn: AsyncConnection, held: Sequence[tuple[str, str]]) -> None:
        """Release ``(id, source)`` pairs a source itself held, inside the caller's
        transaction. Held items are rare (an interrupted poll), so one look decides
        whether anything needs deleting, instead of a delete per poll."""
        if not held or await conn.scalar(select(disclosure_pending.c.id).limit(1)) is None:
            return  # nothing is held anywhere: the usual case
        wanted = set(held)
        ids = list({i for i, _ in wanted})
        found: list[tuple[str, str]] = []
        for start in range(0, len(ids), CHUNK):
            rows = await conn.execute(
                select(disclosure_pending.c.id, disclosure_pending.c.source).where(
                    disclosure_pending.c.id.in_(ids[start : start + CHUNK])
                )
            )
            found += [(r.id, r.source) for r in rows if (r.id, r.source) in wanted]
        by_source: dict[str, list[str]] = {}
        for ident, source in found:
            by_source.setdefault(source, []).append(ident)
        for source, idents in by_source.items():
            await self.release(conn, idents, source=source)

    async def known_link_keys(
        self, source: str, url_keys: Iterable[str], *, besides: Iterable[str] = ()
    ) -> set[str]:
        """Which of ``url_keys`` ``source`` already published under another identity."""
        keys = list(set(url_keys))
        skip = list(besides)
        found: set[str] = set()
        async with self.db.engine.connect() as conn:
            for start in range(0, len(keys), CHUNK):
                query = select(disclosures.c.url_key).where(
                    disclosures.c.source == source,
                    disclosures.c.url_key.in_(keys[start : start + CHUNK]),
                    # An item still held by an interrupted poll was never announced.
                    disclosures.c.id.not_in(select(disclosure_pending.c.id)),
                )
                if skip:
                    query = query.where(disclosures.c.id.not_in(skip))
                found.update(r[0] for r in await conn.execute(query))
        return found

    async def first_seen(self, disclosure_id: str) -> datetime | None:
        """When a source first showed the disclosure (None: unknown id)."""
        async with self.db.engine.connect() as conn:
            seen = await conn.scalar(
                select(disclosures.c.first_seen).where(disclosures.c.id == disclosure_id)
            )
        return aware(seen)

    async def save_cards(self, cards: dict[str, dict[str, Any]]) -> None:
        """Keep the fields read from each disclosure (id -> extraction JSON), once."""
        if not cards:
            return
        async with self.db.engine.begin() as conn:
            for identity, card in cards.items():
                await conn.execute(
                    update(disclosures)
                    .where(disclosures.c.id == identity, disclosures.c.card.is_(None))
                    .values(card=json.dumps(card, ensure_ascii=False))
                )

    async def cards_of(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The stored extraction of each of ``ids`` that has one."""
        wanted = list(ids)
        found: dict[str, dict[str, Any]] = {}
        async with self.db.engine.connect() as conn:
            for start in range(0, len(wanted), CHUNK):
                rows = await conn.execute(
                    select(disclosures.c.id, disclosures.c.card).where(
                        disclosures.c.id.in_(wanted[start : start + CHUNK]),
                        disclosures.c.card.is_not(None),
                    )
                )
                for identity, raw in rows:
                    try:
                        found[identity] = json.loads(raw)
                    except ValueError:
                        continue
        return found

    async def count_disclosures(self) -> int:
        async with self.db.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(disclosures)) or 0)

    async def naming(self, needle: str, limit: int) -> list[dict[str, Any]]:
        """Disclosures whose title or organization contains ``needle`` (folded), newest first."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(disclosures)
                .where(
                    or_(
                        func.lower(disclosures.c.title).contains(needle, autoescape=True),
                        func.lower(disclosures.c.organization).contains(needle, autoescape=True),
                    )
                )
                .order_by(disclosures.c.first_seen.desc())
                .limit(limit)
            )
            return [
                {
                    "source": d.source,
                    "title": d.title,
                    "url": d.url,
                    "evidence": d.evidence,
                    "published": aware(d.published),
                    "first_seen": aware(d.first_seen),
                }
                for d in rows
            ]
