"""The outbox: one row per alert to deliver, leased, sent in order, kept until sent."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, func, literal_column, or_, select, update

from bot.core.clock import utcnow
from bot.core.records import Delivery
from bot.core.sharding import ShardSet
from bot.store.database import Database
from bot.store.guilds import GuildRepository
from bot.store.meta import MetaRepository
from bot.store.schema import deliveries

CHANNEL_PREFIX = "channel:"
# The meta counter of deliveries that were mid-send when their process died.
INTERRUPTED = "deliveries_interrupted"


class OutboxRepository:
    """``deliveries``: what to send to whom, claimed by one worker at a time."""

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
        async with self.db.engine.begin() as conn:
            if self.db.dialect == "postgresql":
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
        async with self.db.engine.begin() as conn:
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

    async def mark_alert(self, delivery_id: int) -> None:
        """Record that an update is sent as the incident's alert (the target had none)."""
        async with self.db.engine.begin() as conn:
            await conn.execute(
                update(deliveries).where(deliveries.c.id == delivery_id).values(kind="alert")
            )

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

    async def targets_of(self, incident_id: int) -> set[str]:
        """The targets that have any row for ``incident_id``: they were told of it (or will
        be), and so hear its updates whatever their filters."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(
                select(deliveries.c.target)
                .where(deliveries.c.incident_id == incident_id, deliveries.c.status != "dead")
                .distinct()
            )
            return {r[0] for r in rows}

    async def sent_message_id(self, target: str, incident_id: int) -> str | None:
        """The message that first announced ``incident_id`` to ``target``, if any."""
        async with self.db.engine.connect() as conn:
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
