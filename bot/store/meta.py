"""What the store keeps about itself: named values and counters (the ``meta`` table)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Text, cast, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.database import Database
from bot.store.schema import meta


class MetaRepository:
    """Named values (the command-sync hash) and counters every process may bump."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_meta(self, key: str) -> str | None:
        async with self.db.engine.connect() as conn:
            return await conn.scalar(select(meta.c.value).where(meta.c.key == key))

    async def set_meta(self, key: str, value: str) -> None:
        async with self.db.engine.begin() as conn:
            await self.put(conn, key, value)

    async def put(self, conn: AsyncConnection, key: str, value: str) -> None:
        """Set ``key`` inside the caller's transaction."""
        await conn.execute(
            self.db.insert(meta)
            .values(key=key, value=value)
            .on_conflict_do_update(index_elements=["key"], set_={"value": value})
        )

    async def add(self, conn: AsyncConnection, key: str, count: int) -> None:
        """Add ``count`` to the counter ``key`` inside the caller's transaction."""
        before = await conn.scalar(select(meta.c.value).where(meta.c.key == key))
        await self.put(conn, key, str(int(before or 0) + count))

    async def bump_counters(self, *keys: str) -> None:
        """Add one to each counter ``key`` in one transaction (a missing one becomes 1).

        The increment happens in the database, so concurrent bumps from several processes
        are never lost: each changes the value another process compares against.
        """
        async with self.db.engine.begin() as conn:
            await self.bump(conn, *keys)

    async def bump(self, conn: AsyncConnection, *keys: str) -> None:
        """:meth:`bump_counters` inside the caller's transaction: the change it announces
        and the announcement commit together."""
        for key in keys:
            await conn.execute(
                self.db.insert(meta)
                .values(key=key, value="1")
                .on_conflict_do_update(
                    index_elements=["key"],
                    set_={"value": cast(cast(meta.c.value, BigInteger) + 1, Text)},
                )
            )

    async def counters(self, *keys: str) -> tuple[int, ...]:
        """The counters ``keys`` (0 for one never bumped), read in one query."""
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(select(meta.c.key, meta.c.value).where(meta.c.key.in_(keys)))
            found = {r.key: int(r.value) for r in rows}
        return tuple(found.get(k, 0) for k in keys)
