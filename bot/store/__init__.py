"""The database: what was seen, matched, grouped and delivered.

One async SQLAlchemy engine; SQLite by default, PostgreSQL when deployments grow.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    event,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.sharding import ShardSet
from bot.store.schema import (
    deliveries,
    disclosure_pending,
    disclosures,
    incidents,
    matches,
    meta,
    source_state,
    subscriptions,
)
from scrapers.http import Validators
from scrapers.models import Disclosure, Evidence


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; everything we store is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """What ``breachradar sources`` shows for one source."""

    name: str
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    items_seen: int
    next_poll_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClaimedSource:
    """A source this process holds the lease on, with what its server said last time."""

    name: str
    validators: Validators


@dataclass(frozen=True, slots=True)
class Delivery:
    """One outbox row due for delivery."""

    id: int
    target: str
    incident_id: int
    disclosure_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """An incident as stored."""

    id: int
    company_key: str
    company_name: str
    title: str
    url: str
    evidence: Evidence
    first_seen: datetime
    last_seen: datetime
    published: datetime | None
    summary: str
    fingerprint: str


@dataclass(slots=True)
class _PollRecord:
    name: str
    items: int
    validators: Validators | None
    next_poll_at: datetime | None
    now: datetime
    release: list[str]
    add: list[Disclosure]
    settle: list[str]


def _disclosure_row(d: Disclosure, seen: datetime) -> dict[str, Any]:
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
    }


class Store:
    """Async access to the BreachRadar database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # Finished polls waiting for the one transaction that records them together.
        self._finished: list[tuple[_PollRecord, asyncio.Future[set[str]]]] = []
        self._recorder: asyncio.Task[None] | None = None
        self.poll_writes = 0  # transactions that recorded polls (for the benchmarks)

    @classmethod
    async def open(cls, url: str, *, create: bool = True) -> Store:
        """Connect to ``url`` and check its schema (creating SQLite's file and schema if needed).

        ``create=False`` skips the check, for ``breachradar db`` which manages the schema.
        """
        parsed = make_url(url)
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                await asyncio.to_thread(_make_parent, database)
            kwargs["connect_args"] = {"timeout": 30}
        engine = create_async_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":

            @event.listens_for(engine.sync_engine, "connect")
            def _pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                # WAL lets readers (the bot's lookups) run beside the writer.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA foreign_keys=ON")
                cursor.close()

        store = cls(engine)
        if create:
            try:
                await store.ensure_schema()
            except BaseException:
                await engine.dispose()
                raise
        return store

    async def ensure_schema(self) -> None:
        """Create or upgrade a SQLite schema; raise SchemaError if PostgreSQL is not current."""
        from bot.store.migrate import ensure_current

        await ensure_current(self.engine)

    async def create_schema(self) -> None:
        """Apply every migration (what ``breachradar db upgrade`` does)."""
        from bot.store.migrate import upgrade

        await upgrade(self.engine)

    async def close(self) -> None:
        if self._recorder is not None:
            # Polls already finished are recorded before the connections go.
            await asyncio.gather(self._recorder, return_exceptions=True)
        await self.engine.dispose()

    def _insert(self, table: Any) -> Any:
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # -- sources -------------------------------------------------------------------------

    async def load_validators(self) -> dict[str, Validators]:
        """Return the ETag/Last-Modified remembered per source name."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(source_state.c.name, source_state.c.etag, source_state.c.last_modified)
            )
            return {
                r.name: Validators(r.etag, r.last_modified)
                for r in rows
                if r.etag or r.last_modified
            }

    async def _ensure_source(self, conn: AsyncConnection, name: str) -> None:
        await conn.execute(
            self._insert(source_state)
            .values(name=name, consecutive_failures=0, items_seen=0)
            .on_conflict_do_nothing(index_elements=["name"])
        )

    async def record_success(
        self,
        name: str,
        *,
        items: int,
        validators: Validators | None,
        next_poll_at: datetime | None,
        now: datetime | None = None,
        release: Iterable[str] = (),
        add: Sequence[Disclosure] = (),
        settle: Iterable[str] = (),
    ) -> set[str]:
        """Record a completed poll and end its lease; return the ids of ``add`` that are new.

        ``release`` names held disclosures whose alerts are now queued (see
        :meth:`release_held`); ``add`` stores disclosures that need no alert, and ``settle``
        releases those of them this source itself held (another source's held item may
        still need its alert). All of it happens in the transaction that records the poll.
        Polls finishing at the same moment share one transaction (a group commit): a write
        costs far more than the rows it carries.
        """
        record = _PollRecord(
            name, items, validators, next_poll_at, now or utcnow(), list(release), list(add),
            list(settle),
        )  # fmt: skip
        done: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
        self._finished.append((record, done))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_finished())
        return await asyncio.shield(done)

    async def _record_finished(self) -> None:
        while self._finished:
            batch, self._finished = self._finished, []
            try:
                new_ids = await self._write_polls([record for record, _ in batch])
            except BaseException as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for record, done in batch:
                if not done.done():
                    done.set_result({d.identity for d in record.add} & new_ids)

    async def _write_polls(self, records: list[_PollRecord]) -> set[str]:
        new_ids: set[str] = set()
        self.poll_writes += 1
        async with self.engine.begin() as conn:
            rows = [_disclosure_row(d, r.now) for r in records for d in r.add]
            unique = list({row["id"]: row for row in rows}.values())
            for start in range(0, len(unique), 500):
                result = await conn.execute(
                    self._insert(disclosures)
                    .on_conflict_do_nothing(index_elements=["id"])
                    .returning(disclosures.c.id),
                    unique[start : start + 500],
                )
                new_ids.update(row[0] for row in result)
            await self._release(conn, [i for r in records for i in r.release])
            for r in records:
                if r.settle:
                    await self._release(conn, r.settle, source=r.name)
            await conn.execute(
                self._insert(source_state).on_conflict_do_nothing(index_elements=["name"]),
                [
                    {"name": name, "consecutive_failures": 0, "items_seen": 0}
                    for name in dict.fromkeys(r.name for r in records)
                ],
            )
            for with_validators in (False, True):
                group = [r for r in records if (r.validators is not None) == with_validators]
                if not group:
                    continue
                values: dict[str, Any] = {
                    "last_success_at": bindparam("b_at", type_=source_state.c.last_success_at.type),
                    "consecutive_failures": 0,
                    "items_seen": source_state.c.items_seen + bindparam("b_items"),
                    "next_poll_at": bindparam("b_next", type_=source_state.c.next_poll_at.type),
                    # The poll is over: its lease ends with it (one write per poll, not two).
                    "lease_owner": None,
                    "lease_until": None,
                }
                if with_validators:
                    values["etag"] = bindparam("b_etag")
                    values["last_modified"] = bindparam("b_modified")
                await conn.execute(
                    update(source_state)
                    .where(source_state.c.name == bindparam("b_name"))
                    .values(**values),
                    [
                        {
                            "b_name": r.name,
                            "b_at": r.now,
                            "b_items": r.items,
                            "b_next": r.next_poll_at,
                            "b_etag": r.validators.etag if r.validators else None,
                            "b_modified": r.validators.last_modified if r.validators else None,
                        }
                        for r in group
                    ],
                )
        return new_ids

    async def record_failure(
        self, name: str, error: str, *, next_poll_at: datetime | None, now: datetime | None = None
    ) -> int:
        """Record a failed poll and end its lease; return the number of failures in a row."""
        async with self.engine.begin() as conn:
            await self._ensure_source(conn, name)
            await conn.execute(
                update(source_state)
                .where(source_state.c.name == name)
                .values(
                    last_error=error[:1000],
                    last_error_at=now or utcnow(),
                    consecutive_failures=source_state.c.consecutive_failures + 1,
                    next_poll_at=next_poll_at,
                    lease_owner=None,
                    lease_until=None,
                )
            )
            count = await conn.scalar(
                select(source_state.c.consecutive_failures).where(source_state.c.name == name)
            )
            return int(count or 0)

    async def source_health(self) -> dict[str, SourceHealth]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(source_state))
            return {
                r.name: SourceHealth(
                    name=r.name,
                    last_success_at=_aware(r.last_success_at),
                    last_error=r.last_error,
                    last_error_at=_aware(r.last_error_at),
                    consecutive_failures=r.consecutive_failures or 0,
                    items_seen=r.items_seen or 0,
                    next_poll_at=_aware(r.next_poll_at),
                )
                for r in rows
            }

    async def ensure_sources(self, names: Iterable[str]) -> None:
        """Create the state rows of sources not seen before, due at once."""
        rows = [{"name": n, "consecutive_failures": 0, "items_seen": 0} for n in names]
        if not rows:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                self._insert(source_state).on_conflict_do_nothing(index_elements=["name"]), rows
            )

    async def claim_sources(
        self,
        intervals: Mapping[str, timedelta],
        *,
        owner: str,
        now: datetime | None = None,
        lease: timedelta = timedelta(minutes=5),
        limit: int = 100,
    ) -> list[ClaimedSource]:
        """Lease the due sources among ``intervals`` so that no other process polls them.

        A claim also moves the source's next poll one interval on, so a process that dies
        mid-poll costs that poll only: the next one happens on schedule, by whichever
        process claims it once the lease has expired.
        """
        if not intervals:
            return []
        when = now or utcnow()
        claimable = and_(
            source_state.c.name.in_(list(intervals)),
            or_(source_state.c.next_poll_at.is_(None), source_state.c.next_poll_at <= when),
            or_(source_state.c.lease_until.is_(None), source_state.c.lease_until < when),
        )
        query = (
            select(source_state.c.name)
            .where(claimable)
            .order_by(source_state.c.next_poll_at, source_state.c.name)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            # Rows another process is claiming right now are skipped, not waited for.
            query = query.with_for_update(skip_locked=True)
        async with self.engine.begin() as conn:
            names = [r[0] for r in await conn.execute(query)]
            if not names:
                return []
            next_poll = case(
                {n: when + intervals[n] for n in names}, value=source_state.c.name, else_=when
            )
            # The UPDATE checks again that each row is free: on SQLite the SELECT above took
            # no lock, so another process may have claimed some of them in between; an
            # UPDATE holds the write lock while it tests and sets, so one claim wins.
            rows = await conn.execute(
                update(source_state)
                .where(source_state.c.name.in_(names), claimable)
                .values(lease_owner=owner, lease_until=when + lease, next_poll_at=next_poll)
                .returning(source_state.c.name, source_state.c.etag, source_state.c.last_modified)
            )
            claimed = [ClaimedSource(r.name, Validators(r.etag, r.last_modified)) for r in rows]
        return sorted(claimed, key=lambda c: c.name)

    async def lease_owners(self, now: datetime | None = None) -> set[str]:
        """Every owner that holds a live lease on a source or a delivery."""
        when = now or utcnow()
        async with self.engine.connect() as conn:
            owners: set[str] = set()
            for table in (source_state, deliveries):
                rows = await conn.execute(
                    select(table.c.lease_owner)
                    .where(table.c.lease_owner.is_not(None), table.c.lease_until >= when)
                    .distinct()
                )
                owners.update(r[0] for r in rows)
            return owners

    async def expire_leases(self, owners: Sequence[str]) -> None:
        """End the leases of owners known to be dead, so others take their work at once."""
        if not owners:
            return
        async with self.engine.begin() as conn:
            for table in (source_state, deliveries):
                await conn.execute(
                    update(table)
                    .where(table.c.lease_owner.in_(list(owners)))
                    .values(lease_until=None)
                )

    async def release_source(self, name: str, *, owner: str) -> None:
        """Give up the lease on ``name`` if ``owner`` still holds it."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(source_state)
                .where(source_state.c.name == name, source_state.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    # -- disclosures ---------------------------------------------------------------------

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
        async with self.engine.begin() as conn:
            ids = list(unique)
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows = [_disclosure_row(unique[i], seen_now) for i in chunk]
                result = await conn.execute(
                    self._insert(disclosures)
                    .on_conflict_do_nothing(index_elements=["id"])
                    .returning(disclosures.c.id),
                    rows,
                )
                new_ids = [r[0] for r in result]
                fresh.update(new_ids)
                if hold:
                    if new_ids:
                        await conn.execute(
                            self._insert(disclosure_pending).on_conflict_do_nothing(
                                index_elements=["id"]
                            ),
                            [
                                {"id": i, "source": unique[i].source, "created_at": seen_now}
                                for i in new_ids
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
            async with self.engine.begin() as conn:
                await self._release(conn, wanted)

    @staticmethod
    async def _release(
        conn: AsyncConnection, wanted: list[str], *, source: str | None = None
    ) -> None:
        for start in range(0, len(wanted), 500):
            query = delete(disclosure_pending).where(
                disclosure_pending.c.id.in_(wanted[start : start + 500])
            )
            if source is not None:
                query = query.where(disclosure_pending.c.source == source)
            await conn.execute(query)

    async def known_link_keys(
        self, source: str, url_keys: Iterable[str], *, besides: Iterable[str] = ()
    ) -> set[str]:
        """Which of ``url_keys`` ``source`` already published under another identity."""
        keys = list(set(url_keys))
        skip = list(besides)
        found: set[str] = set()
        async with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                query = select(disclosures.c.url_key).where(
                    disclosures.c.source == source,
                    disclosures.c.url_key.in_(keys[start : start + 500]),
                    # An item still held by an interrupted poll was never announced.
                    disclosures.c.id.not_in(select(disclosure_pending.c.id)),
                )
                if skip:
                    query = query.where(disclosures.c.id.not_in(skip))
                found.update(r[0] for r in await conn.execute(query))
        return found

    async def count_disclosures(self) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(disclosures)) or 0)

    # -- incidents and matches -----------------------------------------------------------

    async def recent_incidents(self, company_key: str, since: datetime) -> list[IncidentRow]:
        """Incidents of one company seen since ``since``, newest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(incidents)
                .where(incidents.c.company_key == company_key, incidents.c.last_seen >= since)
                .order_by(incidents.c.last_seen.desc())
            )
            return [_incident(r) for r in rows]

    async def incident_url_keys(self, incident_id: int) -> set[str]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(disclosures.c.url_key)
                .join(matches, matches.c.disclosure_id == disclosures.c.id)
                .where(matches.c.incident_id == incident_id)
            )
            return {r[0] for r in rows}

    async def incident_stories(self, incident_id: int) -> list[tuple[str, str, str]]:
        """The ``(url_key, title, summary)`` of every disclosure behind an incident."""
        async with self.engine.connect() as conn:
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
        async with self.engine.begin() as conn:
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
                self._insert(matches)
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
        async with self.engine.connect() as conn:
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
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(incidents).where(incidents.c.id == incident_id))
            ).first()
            return _incident(row) if row is not None else None

    async def incident_sources(self, incident_id: int) -> list[dict[str, Any]]:
        """The disclosures behind an incident, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    disclosures.c.source,
                    disclosures.c.title,
                    disclosures.c.url,
                    disclosures.c.evidence,
                    disclosures.c.published,
                    disclosures.c.first_seen,
                )
                .join(matches, matches.c.disclosure_id == disclosures.c.id)
                .where(matches.c.incident_id == incident_id)
                .order_by(disclosures.c.first_seen, disclosures.c.id)
            )
            return [
                {
                    "source": r.source,
                    "title": r.title,
                    "url": r.url,
                    "evidence": r.evidence,
                    "published": _aware(r.published),
                    "first_seen": _aware(r.first_seen),
                }
                for r in rows
            ]

    # -- outbox --------------------------------------------------------------------------

    async def enqueue(
        self,
        target: str,
        *,
        incident_id: int,
        disclosure_id: str,
        payload: dict[str, Any],
        kind: str = "alert",
        now: datetime | None = None,
        guild_id: int | None = None,
    ) -> bool:
        """Queue one delivery; return False if this (target, incident, disclosure) was queued.

        A ``channel:`` target is stored with its server (``guild_id``, else the one its
        subscriptions name), which decides the bot shard that delivers it.
        """
        when = now or utcnow()
        guild: Any = guild_id
        channel = target.removeprefix(CHANNEL_PREFIX)
        if guild is None and target.startswith(CHANNEL_PREFIX) and channel.isdigit():
            guild = (
                select(func.min(subscriptions.c.guild_id))
                .where(subscriptions.c.channel_id == int(channel))
                .scalar_subquery()
            )
        async with self.engine.begin() as conn:
            result = await conn.execute(
                self._insert(deliveries)
                .values(
                    target=target,
                    guild_id=guild,
                    incident_id=incident_id,
                    disclosure_id=disclosure_id,
                    kind=kind,
                    payload=json.dumps(payload, ensure_ascii=False, default=str),
                    status="pending",
                    attempts=0,
                    next_attempt_at=when,
                    created_at=when,
                )
                .on_conflict_do_nothing(index_elements=["target", "incident_id", "disclosure_id"])
                .returning(deliveries.c.id)
            )
            return result.first() is not None

    async def claim_due(
        self,
        *,
        owner: str,
        now: datetime | None = None,
        limit: int = 100,
        lease: timedelta = timedelta(minutes=2),
        target_prefix: str | None = None,
        shards: ShardSet | None = None,
    ) -> list[Delivery]:
        """Lease pending deliveries that are due, oldest first, so no other worker takes them.

        ``target_prefix`` limits the claim to one family of targets; ``shards`` limits its
        ``channel:`` rows to the servers on those shards (the rest stay queued, untouched,
        for the processes that run the other shards).
        """
        when = now or utcnow()
        claimable = and_(
            deliveries.c.status == "pending",
            deliveries.c.next_attempt_at <= when,
            or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < when),
        )
        query = select(deliveries.c.id).where(claimable).order_by(deliveries.c.id).limit(limit)
        if target_prefix:
            query = query.where(deliveries.c.target.startswith(target_prefix))
        if shards is not None:
            query = query.where(_on_shards(shards))
        async with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # Rows another worker is claiming right now are skipped, not waited for.
                ids = [r[0] for r in await conn.execute(query.with_for_update(skip_locked=True))]
                if not ids:
                    return []
                chosen: Any = deliveries.c.id.in_(ids)
            else:
                # One UPDATE takes SQLite's write lock before it reads, so choosing and
                # leasing cannot interleave with another process doing the same.
                chosen = and_(deliveries.c.id.in_(query.scalar_subquery()), claimable)
            rows = await conn.execute(
                update(deliveries)
                .where(chosen)
                .values(lease_owner=owner, lease_until=when + lease)
                .returning(*deliveries.c)
            )
            claimed = sorted(rows, key=lambda r: r.id)
        return [
            Delivery(
                id=r.id,
                target=r.target,
                incident_id=r.incident_id,
                disclosure_id=r.disclosure_id,
                kind=r.kind,
                payload=json.loads(r.payload),
                attempts=r.attempts,
            )
            for r in claimed
        ]

    async def mark_sent(
        self, delivery_id: int, *, message_id: str | None = None, now: datetime | None = None
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    status="sent",
                    sent_at=now or utcnow(),
                    message_id=message_id,
                    lease_owner=None,
                    lease_until=None,
                    attempts=deliveries.c.attempts + 1,
                )
            )

    async def mark_sending(self, delivery_id: int) -> None:
        """Record that a send is about to start, so a crash during it is known afterwards."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id, deliveries.c.status == "pending")
                .values(status="sending")
            )

    async def mark_unsent(self, delivery_id: int) -> None:
        """Record that a send attempt ended without delivering (the lease is kept)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id, deliveries.c.status == "sending")
                .values(status="pending")
            )

    async def recover_interrupted(self, owner: str, now: datetime | None = None) -> list[int]:
        """Put back deliveries a crashed worker held; return those that were mid-send.

        A delivery left ``sending`` may or may not have reached the receiver: it is sent
        again (an alert is never lost) and counted in the ``deliveries_interrupted``
        meta key, the one case where a receiver without idempotency may see it twice.
        """
        when = now or utcnow()
        mine_or_expired = or_(
            deliveries.c.lease_owner == owner,
            deliveries.c.lease_until.is_(None),
            deliveries.c.lease_until < when,
        )
        async with self.engine.begin() as conn:
            interrupted = [
                r[0]
                for r in await conn.execute(
                    select(deliveries.c.id).where(deliveries.c.status == "sending", mine_or_expired)
                )
            ]
            if interrupted:
                await conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id.in_(interrupted))
                    .values(
                        status="pending",
                        last_error="interrupted while sending; sent again",
                        lease_owner=None,
                        lease_until=None,
                    )
                )
                before = await conn.scalar(
                    select(meta.c.value).where(meta.c.key == "deliveries_interrupted")
                )
                total = str(int(before or 0) + len(interrupted))
                await conn.execute(
                    self._insert(meta)
                    .values(key="deliveries_interrupted", value=total)
                    .on_conflict_do_update(index_elements=["key"], set_={"value": total})
                )
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.status == "pending", deliveries.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
        return interrupted

    async def mark_retry(
        self,
        delivery_id: int,
        error: str,
        *,
        retry_at: datetime,
        dead: bool = False,
        count: bool = True,
    ) -> None:
        """Put a delivery back for ``retry_at`` (or give it up); ``count`` an attempt."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    status="dead" if dead else "pending",
                    last_error=error[:1000],
                    next_attempt_at=retry_at,
                    attempts=deliveries.c.attempts + (1 if count else 0),
                    lease_owner=None,
                    lease_until=None,
                )
            )

    async def pending_count(self) -> int:
        async with self.engine.connect() as conn:
            return int(
                await conn.scalar(
                    select(func.count())
                    .select_from(deliveries)
                    .where(deliveries.c.status == "pending")
                )
                or 0
            )

    async def delivery_counts(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
            )
            return {r[0]: int(r[1]) for r in rows}

    async def alert_sent(self, target: str, incident_id: int) -> bool:
        """Whether ``target`` was already sent the alert that announced ``incident_id``."""
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                select(deliveries.c.id)
                .where(
                    deliveries.c.target == target,
                    deliveries.c.incident_id == incident_id,
                    deliveries.c.kind == "alert",
                    deliveries.c.status == "sent",
                )
                .limit(1)
            )
            return found is not None

    async def sent_message_id(self, target: str, incident_id: int) -> str | None:
        """The message that first announced ``incident_id`` to ``target``, if any."""
        async with self.engine.connect() as conn:
            return await conn.scalar(
                select(deliveries.c.message_id)
                .where(
                    and_(
                        deliveries.c.target == target,
                        deliveries.c.incident_id == incident_id,
                        deliveries.c.kind == "alert",
                        deliveries.c.status == "sent",
                    )
                )
                .limit(1)
            )

    # -- meta ----------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.scalar(select(meta.c.value).where(meta.c.key == key))

    async def set_meta(self, key: str, value: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                self._insert(meta)
                .values(key=key, value=value)
                .on_conflict_do_update(index_elements=["key"], set_={"value": value})
            )

    async def bump_counters(self, *keys: str) -> None:
        """Add one to each counter ``key`` in one transaction (a missing one becomes 1).

        The increment happens in the database, so concurrent bumps from several processes
        are never lost: each changes the value another process compares against.
        """
        async with self.engine.begin() as conn:
            for key in keys:
                await conn.execute(
                    self._insert(meta)
                    .values(key=key, value="1")
                    .on_conflict_do_update(
                        index_elements=["key"],
                        set_={"value": cast(cast(meta.c.value, BigInteger) + 1, Text)},
                    )
                )

    async def counters(self, *keys: str) -> tuple[int, ...]:
        """The counters ``keys`` (0 for one never bumped), read in one query."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(meta.c.key, meta.c.value).where(meta.c.key.in_(keys)))
            found = {r.key: int(r.value) for r in rows}
        return tuple(found.get(k, 0) for k in keys)


CHANNEL_PREFIX = "channel:"


def _on_shards(shards: ShardSet) -> Any:
    """Rows that are not for a channel, or whose server is on one of ``shards``.

    Discord's ``(guild_id >> 22) % shard_count``, computed by the database; it is tested
    only on the due rows the claim's index already narrowed down to.
    """
    guild = deliveries.c.guild_id
    # An inline 22: PostgreSQL has bigint >> integer but no bigint >> bigint.
    shard = guild.op(">>", return_type=BigInteger)(literal_column("22")) % shards.count
    mine: Any = and_(guild.is_not(None), shard.in_(list(shards.ids)))
    if shards.owns(None):
        mine = or_(mine, guild.is_(None))
    return or_(~deliveries.c.target.startswith(CHANNEL_PREFIX), mine)


def _make_parent(database: str) -> None:
    folder = os.path.dirname(os.path.expanduser(database))
    if folder:
        os.makedirs(folder, exist_ok=True)


def _incident(r: Any) -> IncidentRow:
    return IncidentRow(
        id=r.id,
        company_key=r.company_key,
        company_name=r.company_name,
        title=r.title,
        url=r.url,
        evidence=Evidence(r.evidence),
        first_seen=_aware(r.first_seen) or utcnow(),
        last_seen=_aware(r.last_seen) or utcnow(),
        published=_aware(r.published),
        summary=r.summary or "",
        fingerprint=r.fingerprint or "",
    )
