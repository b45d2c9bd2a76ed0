"""A sharded bot claims only its servers' channel alerts, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.core.sharding import ShardSet, shard_of
from bot.store import Store
from bot.store.schema import deliveries
from bot.subscriptions import Subscriptions
from scrapers.models import Disclosure

T0 = datetime(2024, 10, 10, 9, 0, tzinfo=UTC)
OtherStore = Callable[[], Awaitable[Store]]


def guild_on(shard: int, count: int, n: int = 0) -> int:
    """A guild id Discord puts on ``shard`` of ``count`` (a snowflake of late 2024)."""
    timestamp = 300_000_000_000 + n * count + shard  # ms since 2015, the bits above 22
    timestamp += (shard - timestamp) % count
    return (timestamp << 22) | 0x1F_4242


async def _incident(store: Store, n: int) -> tuple[int, str]:
    item = Disclosure(
        source="the-record",
        title=f"MoneyGram says hackers stole customer data in cyberattack ({n})",
        url=f"https://therecord.media/moneygram-cyberattack-{n}",
    )
    await store.add_disclosures([item], now=T0)
    incident, _ = await store.record_match(
        item, company_key="moneygram", company_name="MoneyGram", matched=["MoneyGram"],
        reason="names 'MoneyGram'", incident_id=None, now=T0,
    )  # fmt: skip
    return incident, item.identity


async def _queue(store: Store, targets: list[str]) -> dict[str, int]:
    """One alert per target, all about one incident; return each target's row id."""
    incident, disclosure = await _incident(store, 0)
    for target in targets:
        assert await store.enqueue(
            target, incident_id=incident, disclosure_id=disclosure, payload={}, now=T0
        )
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(deliveries.c.target, deliveries.c.id))
        return {r.target: r.id for r in rows}


async def test_channel_alerts_are_stored_with_their_server(store: Store) -> None:
    """Enqueue finds a channel's server from its subscriptions; webhooks have none."""
    guild = guild_on(1, 2)
    subs = Subscriptions(store)
    await subs.subscribe(guild, 1290000000000000001, "MoneyGram")
    await _queue(
        store, ["channel:1290000000000000001", "channel:1290000000000000002", "webhook:soc"]
    )
    incident, disclosure = await _incident(store, 1)
    await store.enqueue(
        "channel:1290000000000000003", incident_id=incident, disclosure_id=disclosure,
        payload={}, now=T0, guild_id=guild_on(0, 2),
    )  # fmt: skip
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(deliveries.c.target, deliveries.c.guild_id))
        stored = {r.target: r.guild_id for r in rows}
    assert stored == {
        "channel:1290000000000000001": guild,
        "channel:1290000000000000002": None,  # nobody subscribes it (any more)
        "channel:1290000000000000003": guild_on(0, 2),
        "webhook:soc": None,
    }


async def test_each_shard_claims_only_its_servers_channels(store: Store) -> None:
    """Shard 1 of 2 takes its server's channel; shard 0 takes its own and the serverless one,
    and a process without a prefix also takes the webhooks. Nothing else is touched."""
    subs = Subscriptions(store)
    await subs.subscribe(guild_on(0, 2), 11, "MoneyGram")
    await subs.subscribe(guild_on(1, 2), 21, "MoneyGram")
    await subs.subscribe(guild_on(1, 2, 5), 22, "MoneyGram")
    ids = await _queue(
        store, ["channel:11", "channel:21", "channel:22", "channel:99", "webhook:soc"]
    )
    hour = timedelta(hours=1)

    one = await store.claim_due(
        owner="shard-1", now=T0, lease=hour, target_prefix="channel:", shards=ShardSet(2, (1,))
    )
    assert [d.target for d in one] == ["channel:21", "channel:22"]
    # Shard 0's rows were neither leased nor postponed: shard 0 takes them at once.
    zero = await store.claim_due(
        owner="shard-0", now=T0, lease=hour, target_prefix="channel:", shards=ShardSet(2, (0,))
    )
    assert [d.target for d in zero] == ["channel:11", "channel:99"]
    assert all(d.attempts == 0 for d in zero)
    assert await store.claim_due(owner="x", now=T0, target_prefix="channel:") == []
    # In one process with the scheduler (--role all), webhooks come along.
    everything = await store.claim_due(owner="all", now=T0, shards=ShardSet(2, (1,)))
    assert [d.id for d in everything] == [ids["webhook:soc"]]


async def test_the_database_computes_discords_shard_formula(store: Store) -> None:
    """For many servers and shard counts, the claim picks exactly the ids Python's formula
    picks, across the whole range of real snowflakes (bits up to 2**63)."""
    guilds = [guild_on(n % 7, 7, n) for n in range(40)]
    guilds += [(1 << 62) + (n << 22) for n in range(20)] + [
        (1 << 63) - 1 - (n << 22) for n in range(5)
    ]
    incident, disclosure = await _incident(store, 2)
    for n, guild in enumerate(guilds):
        await store.enqueue(
            f"channel:{5000 + n}", incident_id=incident, disclosure_id=disclosure,
            payload={}, now=T0, guild_id=guild,
        )  # fmt: skip
    for count, ids in ((7, (3,)), (7, (0, 6)), (5, (1, 2, 4)), (1024, (17,))):
        shards = ShardSet(count, ids)
        claimed = await store.claim_due(owner=f"{count}{ids}", now=T0, limit=1000, shards=shards)
        expected = [
            f"channel:{5000 + n}" for n, g in enumerate(guilds) if shard_of(g, count) in ids
        ]
        assert [d.target for d in claimed] == expected
        await store.recover_interrupted(f"{count}{ids}")  # give them back for the next count


async def test_concurrent_shard_processes_split_the_alerts_exactly(
    store: Store, other_store: OtherStore
) -> None:
    """Two processes per shard drain at once: each row goes once, to a process of its shard."""
    count = 3
    incident, disclosure = await _incident(store, 3)
    for n in range(90):
        await store.enqueue(
            f"channel:{7000 + n}", incident_id=incident, disclosure_id=disclosure,
            payload={}, now=T0, guild_id=guild_on(n % count, count, n),
        )  # fmt: skip
    workers = [(store, 0), *[(await other_store(), n // 2) for n in range(1, 2 * count)]]

    async def drain(s: Store, shard: int, owner: str) -> list[tuple[int, str]]:
        taken: list[tuple[int, str]] = []
        while batch := await s.claim_due(
            owner=owner, now=T0, limit=4, shards=ShardSet(count, (shard,))
        ):
            taken += [(shard, d.target) for d in batch]
        return taken

    results = await asyncio.gather(
        *(drain(s, shard, f"w{i}") for i, (s, shard) in enumerate(workers))
    )
    taken = [t for r in results for t in r]
    assert len(taken) == 90 == len({target for _, target in taken})
    assert all((int(target[8:]) - 7000) % count == shard for shard, target in taken)


async def test_counters_count_every_bump_from_every_process(
    store: Store, other_store: OtherStore
) -> None:
    """Concurrent bumps from four stores are all counted (none lost to a race)."""
    assert await store.counters("a", "b") == (0, 0)
    stores = [store] + [await other_store() for _ in range(3)]

    async def bump(s: Store) -> None:
        for _ in range(10):
            await s.bump_counters("a", "b")

    await asyncio.gather(*(bump(s) for s in stores))
    await store.bump_counters("b")
    assert await store.counters("a", "b", "c") == (40, 41, 0)
