"""The outbox: one row per alert to deliver, kept until sent, and each target's health.

``deliveries`` holds the alerts, ``delivery_targets`` what is known of each receiver: up,
down (failing for now, with the time of its next probe) or gone (it refused for good).
Work is handed out per target: a claim leases a target and its oldest due alerts, so one
process at a time sends to a target, in order, and a down target gets one probe at a time.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    and_,
    case,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.clock import utcnow
from bot.core.records import Delivery
from bot.core.sharding import ShardSet
from bot.store.database import Database, aware
from bot.store.guilds import GuildRepository
from bot.store.meta import MetaRepository
from bot.store.schema import deliveries, delivery_targets, meta
from scrapers.models import Evidence

CHANNEL_PREFIX = "channel:"
# The meta counter of deliveries that were mid-send when their process died.
INTERRUPTED = "deliveries_interrupted"
# The meta row every claim writes first: claims never interleave, on either database.
_CLAIM_LOCK = "outbox.claiming"

UP, DOWN, GONE = "up", "down", "gone"


@dataclass(frozen=True, slots=True)
class TargetClaim:
    """A target leased to one process, and its alerts to send now, oldest first.

    An ``up`` target comes with up to ``per_target`` alerts; a ``down`` or ``gone`` one
    with a single alert, its probe.
    """

    target: str
    state: str
    failures: int
    down_since: datetime | None
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def probing(self) -> bool:
        return self.state != UP


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """What ``breachradar deliveries`` and ``/alerts status`` show for one target."""

    target: str
    state: str  # up | down | gone
    queued: int  # alerts not delivered yet
    waiting: int  # of which wait for a retry
    next_attempt_at: datetime | None  # when the next of those is tried
    given_up: int
    given_up_reason: str | None  # the receiver's answer to the latest one given up
    sent: int
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    down_since: datetime | None
    failures: int
    guild_id: int | None


class OutboxRepository:
    """``deliveries`` and ``delivery_targets``: what to send to whom, and who is sending."""

    def __init__(self, db: Database, meta: MetaRepository, guilds: GuildRepository) -> None:
        self.db = db
        self.meta = meta  # counts the interrupted sends
        self.guilds = guilds  # knows the server of a channel target

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
            # Read in the INSERT itself, from the table the guilds repository owns.
            guild = self.guilds.guild_of_channel(int(channel))
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                self.db.insert(deliveries)
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

    # -- handing out work ----------------------------------------------------------------

    async def claim(
        self,
        *,
        owner: str,
        now: datetime | None = None,
        limit: int = 100,
        per_target: int = 20,
        lease: timedelta = timedelta(minutes=2),
        target_prefix: str | None = None,
        shards: ShardSet | None = None,
    ) -> list[TargetClaim]:
        """Lease targets that have due alerts, each with its oldest ones, oldest first.

        A target another process is sending to is skipped; a down target is offered once
        its probe is due, with one alert (the oldest alert, else the oldest update). At
        most ``limit`` alerts in all. ``target_prefix`` limits the claim to one family of
        targets; ``shards`` its ``channel:`` rows to the servers on those shards (the rest
        stay queued, untouched, for the processes that run the other shards).
        """
        when = now or utcnow()
        d, t = deliveries, delivery_targets
        target_free = or_(t.c.lease_until.is_(None), t.c.lease_until < when)
        ready = or_(
            t.c.state.is_(None),
            t.c.state.in_((UP, GONE)),
            and_(
                t.c.state == DOWN,
                or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= when),
            ),
        )
        state = func.coalesce(t.c.state, UP)
        # A probe is an alert if there is one: an update failing on its own (an edit of a
        # message Discord has trouble with) must not keep the target down.
        probe_first = case((state == UP, 0), (d.c.kind == "alert", 0), else_=1)
        rank = func.row_number().over(partition_by=d.c.target, order_by=[probe_first, d.c.id])
        ranked = (
            select(d.c.id, d.c.target, state.label("state"), rank.label("rn"))
            .select_from(d.outerjoin(t, t.c.target == d.c.target))
            .where(
                d.c.status == "pending",
                d.c.next_attempt_at <= when,
                or_(d.c.lease_until.is_(None), d.c.lease_until < when),
                target_free,
                ready,
            )
        )
        if target_prefix:
            ranked = ranked.where(d.c.target.startswith(target_prefix))
        if shards is not None:
            ranked = ranked.where(_on_shards(shards))
        sub = ranked.subquery()
        chosen_query = (
            select(sub.c.id, sub.c.target)
            .where(or_(sub.c.rn == 1, and_(sub.c.state == UP, sub.c.rn <= per_target)))
            .order_by(sub.c.id)
            .limit(limit)
        )
        until = when + lease
        async with self.db.engine.begin() as conn:
            await self._serialize(conn, owner)
            chosen = list(await conn.execute(chosen_query))
            if not chosen:
                return []
            targets = sorted({r.target for r in chosen})
            states = {
                r.target: r
                for r in await conn.execute(
                    self.db.insert(t)
                    .values(
                        [
                            {
                                "target": name,
                                "state": UP,
                                "failures": 0,
                                "lease_owner": owner,
                                "lease_until": until,
                            }
                            for name in targets
                        ]
                    )
                    .on_conflict_do_update(
                        index_elements=["target"],
                        set_={"lease_owner": owner, "lease_until": until},
                    )
                    .returning(t.c.target, t.c.state, t.c.failures, t.c.down_since)
                )
            }
            rows = await conn.execute(
                update(d)
                .where(d.c.id.in_([r.id for r in chosen]))
                .values(lease_owner=owner, lease_until=until)
                .returning(*d.c)
            )
            by_target: dict[str, list[Delivery]] = {}
            for row in sorted(rows, key=lambda r: r.id):
                by_target.setdefault(row.target, []).append(_delivery(row))
        claims = [
            TargetClaim(
                target=name,
                state=states[name].state,
                failures=states[name].failures,
                down_since=aware(states[name].down_since),
                deliveries=items,
            )
            for name, items in by_target.items()
        ]
        return sorted(claims, key=lambda c: c.deliveries[0].id)

    async def claim_more(
        self,
        target: str,
        *,
        owner: str,
        now: datetime | None = None,
        limit: int = 20,
        lease: timedelta = timedelta(minutes=2),
    ) -> list[Delivery]:
        """The next due alerts of a target this owner holds, its lease renewed; [] if the
        lease was lost (it ran out and another process took the target)."""
        when = now or utcnow()
        d, t = deliveries, delivery_targets
        until = when + lease
        due = (
            select(d.c.id)
            .where(
                d.c.target == target,
                d.c.status == "pending",
                d.c.next_attempt_at <= when,
                or_(d.c.lease_until.is_(None), d.c.lease_until < when),
            )
            .order_by(d.c.id)
            .limit(limit)
        )
        async with self.db.engine.begin() as conn:
            held = await conn.execute(
                update(t)
                .where(t.c.target == target, t.c.lease_owner == owner)
                .values(lease_until=until)
                .returning(t.c.target)
            )
            if held.first() is None:
                return []
            rows = await conn.execute(
                update(d)
                .where(d.c.id.in_(due.scalar_subquery()))
                .values(lease_owner=owner, lease_until=until)
                .returning(*d.c)
            )
            return [_delivery(r) for r in sorted(rows, key=lambda r: r.id)]

    async def claim_due(
        self,
        *,
        owner: str,
        now: datetime | None = None,
        limit: int = 100,
        lease: timedelta = timedelta(minutes=2),
        target_prefix: str | None = None,
        shards: ShardSet | None = None,
        per_target: int = 100,
    ) -> list[Delivery]:
        """What :meth:`claim` hands out, as one list of deliveries, oldest first."""
        claims = await self.claim(
            owner=owner,
            now=now,
            limit=limit,
            per_target=per_target,
            lease=lease,
            target_prefix=target_prefix,
            shards=shards,
        )
        return sorted((d for c in claims for d in c.deliveries), key=lambda d: d.id)

    async def release(self, owner: str, target: str, delivery_ids: Iterable[int] = ()) -> None:
        """Give back a target and the alerts of it this owner claimed and did not send."""
        ids = list(delivery_ids)
        async with self.db.engine.begin() as conn:
            if ids:
                await conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.id.in_(ids),
                        deliveries.c.status == "pending",
                        deliveries.c.lease_owner == owner,
                    )
                    .values(lease_owner=None, lease_until=None)
                )
            await conn.execute(
                update(delivery_targets)
                .where(delivery_targets.c.target == target, delivery_targets.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    async def _serialize(self, conn: AsyncConnection, owner: str) -> None:
        """Write the claim's lock row first: on SQLite this takes the write lock before
        anything is read, on PostgreSQL the row lock; either way claims take turns."""
        await conn.execute(
            self.db.insert(meta)
            .values(key=_CLAIM_LOCK, value=owner[:200])
            .on_conflict_do_update(index_elements=["key"], set_={"value": owner[:200]})
        )

    # -- what happened to a send ---------------------------------------------------------

    async def mark_sending(self, delivery_id: int) -> None:
        """Record that a send is about to start, so a crash during it is known afterwards."""
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id, deliveries.c.status == "pending")
                .values(status="sending")
            )

    async def mark_unsent(self, delivery_id: int) -> None:
        """Record that a send attempt ended without delivering (the lease is kept)."""
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id, deliveries.c.status == "sending")
                .values(status="pending")
            )

    async def mark_sent(
        self,
        delivery_id: int,
        *,
        message_id: str | None = None,
        now: datetime | None = None,
        target: str | None = None,
        note: str | None = None,
    ) -> None:
        """The receiver accepted the alert (or, with a ``note``, it needs no message).

        With ``target``, the target is up again from now: a success ends any outage.
        """
        when = now or utcnow()
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    status="sent",
                    sent_at=when,
                    message_id=message_id,
                    last_error=note,
                    lease_owner=None,
                    lease_until=None,
                    attempts=deliveries.c.attempts + 1,
                )
            )
            if target is not None:
                await conn.execute(
                    update(delivery_targets)
                    .where(delivery_targets.c.target == target)
                    .values(
                        state=UP,
                        failures=0,
                        down_since=None,
                        next_attempt_at=None,
                        last_success_at=when,
                    )
                )

    async def mark_up(self, target: str) -> None:
        """The target answered: whatever its outage, it is up from now."""
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(delivery_targets)
                .where(delivery_targets.c.target == target)
                .values(state=UP, failures=0, down_since=None, next_attempt_at=None)
            )

    async def mark_down(
        self,
        target: str,
        delivery_id: int,
        error: str,
        *,
        retry_at: datetime,
        now: datetime | None = None,
    ) -> int:
        """A transient refusal: the target is down until its probe at ``retry_at``.

        The alert goes back to the queue (an attempt counted, nothing given up); return
        the target's failures in a row.
        """
        when = now or utcnow()
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(
                    status="pending",
                    last_error=error[:1000],
                    attempts=deliveries.c.attempts + 1,
                    lease_owner=None,
                    lease_until=None,
                )
            )
            found = await conn.execute(
                update(delivery_targets)
                .where(delivery_targets.c.target == target)
                .values(
                    state=DOWN,
                    failures=delivery_targets.c.failures + 1,
                    down_since=func.coalesce(delivery_targets.c.down_since, when),
                    next_attempt_at=retry_at,
                    last_error=error[:1000],
                    last_error_at=when,
                )
                .returning(delivery_targets.c.failures)
            )
            failures = found.scalar()
        return int(failures or 0)

    async def give_up_target(self, target: str, error: str, *, now: datetime | None = None) -> int:
        """The target refused for good: give up every alert queued for it; return how many.

        They are kept, with the reason, for ``breachradar deliveries retry``.
        """
        when = now or utcnow()
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.target == target,
                    deliveries.c.status.in_(("pending", "sending")),
                )
                .values(
                    status="dead",
                    last_error=error[:1000],
                    attempts=deliveries.c.attempts + 1,
                    lease_owner=None,
                    lease_until=None,
                )
                .returning(deliveries.c.id)
            )
            count = len(result.all())
            await conn.execute(
                update(delivery_targets)
                .where(delivery_targets.c.target == target)
                .values(
                    state=GONE,
                    failures=0,
                    down_since=when,
                    next_attempt_at=None,
                    last_error=error[:1000],
                    last_error_at=when,
                )
            )
        return count

    async def mark_retry(
        self,
        delivery_id: int,
        error: str,
        *,
        retry_at: datetime,
        dead: bool = False,
        count: bool = True,
    ) -> None:
        """Put one delivery back for ``retry_at`` (or give it up); ``count`` an attempt."""
        async with self.db.engine.begin() as conn:
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

    async def probe_soon(self, targets: Collection[str], *, now: datetime | None = None) -> int:
        """Bring the next probe of these down targets forward to ``now``; return how many."""
        if not targets:
            return 0
        when = now or utcnow()
        t = delivery_targets
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                update(t)
                .where(t.c.target.in_(list(targets)), t.c.state == DOWN, t.c.next_attempt_at > when)
                .values(next_attempt_at=when)
                .returning(t.c.target)
            )
            return len(result.all())

    async def down_targets(self) -> list[str]:
        """The targets that are down now."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(delivery_targets.c.target).where(delivery_targets.c.state == DOWN)
            )
            return [r[0] for r in rows]

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
        async with self.db.engine.begin() as conn:
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
                await self.meta.add(conn, INTERRUPTED, len(interrupted))
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.status == "pending", deliveries.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
            await conn.execute(
                update(delivery_targets)
                .where(delivery_targets.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
        return interrupted

    # -- what the outbox asks before sending an update ------------------------------------

    async def alert_sent(self, target: str, incident_id: int) -> bool:
        """Whether ``target`` was already sent the alert that announced ``incident_id``."""
        async with self.db.engine.connect() as conn:
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
        """The message that shows ``incident_id`` in ``target`` now, if any: the alert's,
        or the one an update posted anew after the alert's was deleted."""
        async with self.db.engine.connect() as conn:
            return await conn.scalar(
                select(deliveries.c.message_id)
                .where(
                    deliveries.c.target == target,
                    deliveries.c.incident_id == incident_id,
                    deliveries.c.status == "sent",
                    deliveries.c.message_id.is_not(None),
                )
                .order_by(deliveries.c.id.desc())
                .limit(1)
            )

    async def shown_evidence(self, target: str, incident_id: int) -> Evidence | None:
        """The strongest evidence ``target`` was shown for ``incident_id`` (None: nothing)."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(deliveries.c.payload).where(
                    deliveries.c.target == target,
                    deliveries.c.incident_id == incident_id,
                    deliveries.c.status == "sent",
                    or_(deliveries.c.kind == "alert", deliveries.c.message_id.is_not(None)),
                )
            )
            shown = [_evidence(json.loads(r.payload)) for r in rows]
        known = [e for e in shown if e is not None]
        return max(known, key=lambda e: e.rank) if known else None

    async def newer_update_shown(self, target: str, incident_id: int, delivery_id: int) -> bool:
        """Whether a later update of the incident already reached the target (so an older
        one, retried late, must not overwrite it)."""
        async with self.db.engine.connect() as conn:
            found = await conn.scalar(
                select(deliveries.c.id)
                .where(
                    deliveries.c.target == target,
                    deliveries.c.incident_id == incident_id,
                    deliveries.c.kind == "update",
                    deliveries.c.status == "sent",
                    deliveries.c.message_id.is_not(None),
                    deliveries.c.id > delivery_id,
                )
                .limit(1)
            )
            return found is not None

    # -- what is left to do, for the runner and for people --------------------------------

    async def next_due_at(
        self, *, target_prefix: str | None = None, shards: ShardSet | None = None
    ) -> datetime | None:
        """When the earliest queued alert can be claimed: its own time, its target's probe,
        or the end of a lease on either."""
        d, t = deliveries, delivery_targets
        due = case(
            (t.c.state == GONE, d.c.next_attempt_at),
            (
                and_(t.c.state == DOWN, t.c.next_attempt_at > d.c.next_attempt_at),
                t.c.next_attempt_at,
            ),
            else_=d.c.next_attempt_at,
        )
        # Nor before a lease held on the row or its target runs out (a process elsewhere
        # may be sending; if it died, its lease ends the wait).
        latest = func.greatest if self.db.dialect == "postgresql" else func.max
        claimable: Any = latest(
            due,
            func.coalesce(d.c.lease_until, due),
            func.coalesce(t.c.lease_until, due),
        )
        query = (
            select(func.min(claimable))
            .select_from(d.outerjoin(t, t.c.target == d.c.target))
            .where(d.c.status == "pending")
        )
        if target_prefix:
            query = query.where(d.c.target.startswith(target_prefix))
        if shards is not None:
            query = query.where(_on_shards(shards))
        async with self.db.engine.connect() as conn:
            value = await conn.scalar(query)
        return aware(value) if isinstance(value, datetime) else _parse_time(value)

    async def target_status(
        self,
        *,
        targets: Collection[str] | None = None,
        guild_id: int | None = None,
        now: datetime | None = None,
    ) -> list[TargetStatus]:
        """Each target's queue and health; only ``targets`` and the channels of
        ``guild_id`` if either is given. Sorted by target."""
        when = now or utcnow()
        d, t = deliveries, delivery_targets
        queued = d.c.status.in_(("pending", "sending"))
        later = and_(queued, d.c.next_attempt_at > when)
        per_target = select(
            d.c.target,
            func.sum(case((queued, 1), else_=0)).label("queued"),
            func.sum(case((later, 1), else_=0)).label("later"),
            func.min(case((later, d.c.next_attempt_at), else_=None)).label("next_at"),
            func.sum(case((d.c.status == "dead", 1), else_=0)).label("dead"),
            func.sum(case((d.c.status == "sent", 1), else_=0)).label("sent"),
            func.max(d.c.sent_at).label("sent_at"),
            func.max(d.c.guild_id).label("guild_id"),
            func.max(case((d.c.status == "dead", d.c.id), else_=None)).label("last_dead"),
        ).group_by(d.c.target)
        scope: list[Any] = []
        if targets is not None:
            scope.append(d.c.target.in_(list(targets)))
        if guild_id is not None:
            scope.append(and_(d.c.target.startswith(CHANNEL_PREFIX), d.c.guild_id == guild_id))
        if scope:
            per_target = per_target.where(or_(*scope))
        async with self.db.engine.connect() as conn:
            counts = {r.target: r for r in await conn.execute(per_target)}
            health_query = select(t)
            if scope:
                health_query = health_query.where(t.c.target.in_(list(counts) or [""]))
            health = {r.target: r for r in await conn.execute(health_query)}
            dead_ids = [r.last_dead for r in counts.values() if r.last_dead is not None]
            reasons: dict[str, str | None] = {}
            if dead_ids:
                for r in await conn.execute(
                    select(d.c.target, d.c.last_error).where(d.c.id.in_(dead_ids))
                ):
                    reasons[r.target] = r.last_error
        result = []
        for name in sorted(set(counts) | set(health)):
            c, h = counts.get(name), health.get(name)
            state = h.state if h is not None else UP
            n_queued = int(c.queued or 0) if c is not None else 0
            if state == DOWN:
                waiting, next_at = n_queued, aware(h.next_attempt_at) if h is not None else None
            else:
                waiting = int(c.later or 0) if c is not None else 0
                next_at = _parse_time(c.next_at) if c is not None else None
            success = aware(h.last_success_at) if h is not None else None
            sent_at = _parse_time(c.sent_at) if c is not None else None
            if sent_at is not None and (success is None or sent_at > success):
                success = sent_at
            result.append(
                TargetStatus(
                    target=name,
                    state=state,
                    queued=n_queued,
                    waiting=waiting,
                    next_attempt_at=next_at,
                    given_up=int(c.dead or 0) if c is not None else 0,
                    given_up_reason=reasons.get(name),
                    sent=int(c.sent or 0) if c is not None else 0,
                    last_success_at=success,
                    last_error=h.last_error if h is not None else None,
                    last_error_at=aware(h.last_error_at) if h is not None else None,
                    down_since=aware(h.down_since) if h is not None else None,
                    failures=int(h.failures) if h is not None else 0,
                    guild_id=int(c.guild_id) if c is not None and c.guild_id else None,
                )
            )
        return result

    async def retry_given_up(
        self, targets: Collection[str] | None = None, *, now: datetime | None = None
    ) -> int:
        """Queue the given-up alerts of ``targets`` (None: every target) again, and probe
        those targets at once; return how many alerts were put back."""
        when = now or utcnow()
        d, t = deliveries, delivery_targets
        rows = update(d).where(d.c.status == "dead")
        health = update(t)
        if targets is not None:
            rows = rows.where(d.c.target.in_(list(targets)))
            health = health.where(t.c.target.in_(list(targets)))
        async with self.db.engine.begin() as conn:
            result = await conn.execute(
                rows.values(status="pending", next_attempt_at=when, lease_owner=None,
                            lease_until=None).returning(d.c.id)
            )  # fmt: skip
            count = len(result.all())
            await conn.execute(
                health.where(t.c.state.in_((DOWN, GONE))).values(
                    state=case((t.c.state == GONE, UP), else_=t.c.state),
                    next_attempt_at=case((t.c.state == DOWN, when), else_=None),
                    down_since=case((t.c.state == DOWN, t.c.down_since), else_=None),
                    failures=case((t.c.state == DOWN, t.c.failures), else_=0),
                )
            )
        return count

    async def pending_count(self) -> int:
        async with self.db.engine.connect() as conn:
            return int(
                await conn.scalar(
                    select(func.count())
                    .select_from(deliveries)
                    .where(deliveries.c.status == "pending")
                )
                or 0
            )

    async def delivery_counts(self) -> dict[str, int]:
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
            )
            return {r[0]: int(r[1]) for r in rows}

    async def fold_incidents(
        self, conn: AsyncConnection, survivor: int, absorbed: Sequence[int]
    ) -> None:
        """Give ``absorbed`` incidents' deliveries to ``survivor`` (inside the caller's
        transaction, which deletes them).

        Sent rows move as they are: the messages are out, and later updates edit the newest
        message a target was sent (see :meth:`sent_message_id`). A queued alert for a
        target that already has the survivor's alert (queued or sent) becomes an update of
        it, so no target is told of one incident twice from now on.
        """
        announced = {
            r[0]
            for r in await conn.execute(
                select(deliveries.c.target).where(
                    deliveries.c.incident_id == survivor,
                    deliveries.c.kind == "alert",
                    deliveries.c.status != "dead",
                )
            )
        }
        rows = await conn.execute(
            select(
                deliveries.c.id,
                deliveries.c.target,
                deliveries.c.kind,
                deliveries.c.status,
                deliveries.c.payload,
            )
            .where(deliveries.c.incident_id.in_(list(absorbed)))
            .order_by(deliveries.c.id)
        )
        for r in list(rows):
            values: dict[str, Any] = {"incident_id": survivor}
            payload = json.loads(r.payload)
            if r.kind == "alert" and r.status == "pending" and r.target in announced:
                values["kind"] = "update"
                payload["kind"] = "update"
            elif r.kind == "alert" and r.status != "dead":
                announced.add(r.target)
            if isinstance(payload, dict) and "incident" in payload:
                payload["incident"] = survivor
            values["payload"] = json.dumps(payload, ensure_ascii=False, default=str)
            await conn.execute(update(deliveries).where(deliveries.c.id == r.id).values(**values))


def _delivery(r: Any) -> Delivery:
    return Delivery(
        id=r.id,
        target=r.target,
        incident_id=r.incident_id,
        disclosure_id=r.disclosure_id,
        kind=r.kind,
        payload=json.loads(r.payload),
        attempts=r.attempts,
    )


def _evidence(payload: Any) -> Evidence | None:
    try:
        return Evidence(str(payload.get("evidence")))
    except (ValueError, AttributeError):
        return None


def _parse_time(value: Any) -> datetime | None:
    """An aggregate's datetime: SQLite hands MIN/MAX of a column back as text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return aware(value)
    return aware(datetime.fromisoformat(str(value)))


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
