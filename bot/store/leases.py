"""Who holds work: the leases on sources, deliveries and delivery targets, seen together."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from bot.core.clock import utcnow
from bot.store.database import Database
from bot.store.schema import deliveries, delivery_targets, source_state

# These tables lease rows the same way: lease_owner until lease_until.
_LEASED = (source_state, deliveries, delivery_targets)


class LeaseRepository:
    """Leases across the tables that hand out work, for taking over from dead processes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def lease_owners(self, now: datetime | None = None) -> set[str]:
        """Every owner that holds a live lease on a source, a delivery or a target."""
        when = now or utcnow()
        async with self.db.engine.connect() as conn:
            owners: set[str] = set()
            for table in _LEASED:
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
        async with self.db.engine.begin() as conn:
            for table in _LEASED:
                await conn.execute(
                    update(table)
                    .where(table.c.lease_owner.in_(list(owners)))
                    .values(lease_until=None)
                )
