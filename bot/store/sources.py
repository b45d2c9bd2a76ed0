"""Per-source fetch state, health and leases (the ``source_state`` table)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.clock import utcnow
from bot.core.records import SourceHealth
from bot.store.database import CHUNK, Database, aware
from bot.store.disclosures import DisclosureRepository, disclosure_row
from bot.store.schema import source_state
from scrapers.http import Validators
from scrapers.models import Disclosure


@dataclass(frozen=True, slots=True)
class ClaimedSource:
    """A source this process holds the lease on, with what its server said last time."""

    name: str
    validators: Validators
    due: datetime | None = None  # the moment it was due: a paced source keeps to its moments


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


class SourceRepository:
    """What each source's polls came to, and which process polls it next."""

    def __init__(self, db: Database, disclosures: DisclosureRepository) -> None:
        self.db = db
        # A poll's record stores the items it brought, in the same transaction.
        self.disclosures = disclosures
        # Finished polls waiting for the one transaction that records them together.
        self._finished: list[tuple[_PollRecord, asyncio.Future[set[str]]]] = []
        self._recorder: asyncio.Task[None] | None = None
        self.poll_writes = 0  # transactions that recorded polls (for the benchmarks)

    async def close(self) -> None:
        if self._recorder is not None:
            # Polls already finished are recorded before the connections go.
            await asyncio.gather(self._recorder, return_exceptions=True)

    async def load_validators(self) -> dict[str, Validators]:
        """Return the ETag/Last-Modified remembered per source name."""
        async with self.db.engine.connect() as conn:
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
            self.db.insert(source_state)
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
        :meth:`DisclosureRepository.release_held`); ``add`` stores disclosures that need no
        alert, and ``settle`` releases those of them this source itself held (another
        source's held item may still need its alert). All of it happens in the transaction
        that records the poll. Polls finishing at the same moment share one transaction (a
        group commit): a write costs far more than the rows it carries.
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
        self.poll_writes += 1
        async with self.db.engine.begin() as conn:
            rows = [disclosure_row(d, r.now) for r in records for d in r.add]
            unique = list({row["id"]: row for row in rows}.values())
            new_ids = await self.disclosures.insert_new(conn, unique)
            await self.disclosures.release(conn, [i for r in records for i in r.release])
            await self.disclosures.settle(conn, [(i, r.name) for r in records for i in r.settle])
            await conn.execute(
                self.db.insert(source_state).on_conflict_do_nothing(index_elements=["name"]),
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
        async with self.db.engine.begin() as conn:
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
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(select(source_state))
            return {
                r.name: SourceHealth(
                    name=r.name,
                    last_success_at=aware(r.last_success_at),
                    last_error=r.last_error,
                    last_error_at=aware(r.last_error_at),
                    consecutive_failures=r.consecutive_failures or 0,
                    items_seen=r.items_seen or 0,
                    next_poll_at=aware(r.next_poll_at),
                    display_name=r.display_name,
                )
                for r in rows
            }

    async def ensure_sources(
        self, keys: Iterable[str], *, names: Mapping[str, str] | None = None
    ) -> None:
        """Create the state rows of sources not seen before, due at once; remember each
        source's name as written (``names``: key to name), which may change under one key."""
        shown = names or {}
        rows = [
            {"name": k, "display_name": shown.get(k), "consecutive_failures": 0, "items_seen": 0}
            for k in keys
        ]
        if not rows:
            return
        async with self.db.engine.begin() as conn:
            await conn.execute(
                self.db.insert(source_state).on_conflict_do_nothing(index_elements=["name"]), rows
            )
            renamed = [
                {"b_name": row["name"], "b_shown": row["display_name"]}
                for row in rows
                if row["display_name"] is not None
            ]
            if renamed:
                await conn.execute(
                    update(source_state)
                    .where(
                        source_state.c.name == bindparam("b_name"),
                        or_(
                            source_state.c.display_name.is_(None),
                            source_state.c.display_name != bindparam("b_shown"),
                        ),
                    )
                    .values(display_name=bindparam("b_shown")),
                    renamed,
                )

    async def schedule_sources(self, due: Mapping[str, datetime], *, now: datetime) -> int:
        """Place sources on their planned moments: new ones, and ones overdue at ``now``.

        A source not seen before gets its row with ``due[name]`` as its first poll; one
        whose next poll is already past (and that no process holds) is moved to
        ``due[name]``. Sources due later keep their schedule. Returns how many were placed.
        """
        if not due:
            return 0
        placed = 0
        names = list(due)
        async with self.db.engine.begin() as conn:
            for start in range(0, len(names), CHUNK):
                part = names[start : start + CHUNK]
                rows = [
                    {"name": n, "consecutive_failures": 0, "items_seen": 0, "next_poll_at": due[n]}
                    for n in part
                ]
                inserted = await conn.execute(
                    self.db.insert(source_state)
                    .on_conflict_do_nothing(index_elements=["name"])
                    .returning(source_state.c.name),
                    rows,
                )
                fresh = {r[0] for r in inserted}
                placed += len(fresh)
                late = [n for n in part if n not in fresh]
                if not late:
                    continue
                result = await conn.execute(
                    update(source_state)
                    .where(
                        source_state.c.name == bindparam("b_name"),
                        or_(
                            source_state.c.next_poll_at.is_(None),
                            source_state.c.next_poll_at <= bindparam("b_now"),
                        ),
                        or_(
                            source_state.c.lease_until.is_(None),
                            source_state.c.lease_until < bindparam("b_now"),
                        ),
                    )
                    .values(next_poll_at=bindparam("b_due")),
                    [{"b_name": n, "b_now": now, "b_due": due[n]} for n in late],
                )
                placed += int(result.rowcount or 0)
        return placed

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
            select(source_state.c.name, source_state.c.next_poll_at)
            .where(claimable)
            .order_by(source_state.c.next_poll_at, source_state.c.name)
            .limit(limit)
        )
        if self.db.dialect == "postgresql":
            # Rows another process is claiming right now are skipped, not waited for.
            query = query.with_for_update(skip_locked=True)
        async with self.db.engine.begin() as conn:
            was_due = {r[0]: aware(r[1]) for r in await conn.execute(query)}
            names = list(was_due)
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
            claimed = [
                ClaimedSource(r.name, Validators(r.etag, r.last_modified), was_due.get(r.name))
                for r in rows
            ]
        return sorted(claimed, key=lambda c: c.name)

    async def release_source(self, name: str, *, owner: str) -> None:
        """Give up the lease on ``name`` if ``owner`` still holds it."""
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(source_state)
                .where(source_state.c.name == name, source_state.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
