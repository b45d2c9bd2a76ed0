"""The database: what was seen, matched, grouped and delivered, and what servers set up.

One async SQLAlchemy engine; SQLite by default, PostgreSQL when deployments grow. Each
aggregate has its repository, the only code that writes its SQL: ``sources``,
``disclosures``, ``incidents``, ``outbox``, ``meta``, ``guilds`` and ``leases``. A
:class:`Store` opens the engine once and holds them all; its methods are theirs, so a
caller holding a store reaches any of them directly.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.database import Database, create_engine
from bot.store.disclosures import DisclosureRepository
from bot.store.guilds import GuildRepository
from bot.store.incidents import IncidentRepository
from bot.store.leases import LeaseRepository
from bot.store.meta import MetaRepository
from bot.store.outbox import CHANNEL_PREFIX, OutboxRepository, TargetClaim, TargetStatus
from bot.store.sources import ClaimedSource, SourceRepository


class Store:
    """Async access to the BreachRadar database, one repository per aggregate."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.db = Database(engine)
        self.engine = engine
        self.dialect = self.db.dialect
        self.meta = MetaRepository(self.db)
        self.guilds = GuildRepository(self.db, self.meta)
        self.disclosures = DisclosureRepository(self.db)
        self.sources = SourceRepository(self.db, self.disclosures)
        self.outbox = OutboxRepository(self.db, self.meta, self.guilds)
        self.incidents = IncidentRepository(self.db, self.outbox, self.guilds)
        self.leases = LeaseRepository(self.db)

        # The store's own methods are its repositories': one name, one owner.
        sources = self.sources
        self.load_validators = sources.load_validators
        self.record_success = sources.record_success
        self.record_failure = sources.record_failure
        self.source_health = sources.source_health
        self.ensure_sources = sources.ensure_sources
        self.schedule_sources = sources.schedule_sources
        self.claim_sources = sources.claim_sources
        self.release_source = sources.release_source

        disclosures = self.disclosures
        self.add_disclosures = disclosures.add_disclosures
        self.release_held = disclosures.release_held
        self.known_link_keys = disclosures.known_link_keys
        self.count_disclosures = disclosures.count_disclosures
        self.save_cards = disclosures.save_cards
        self.cards_of = disclosures.cards_of

        incidents = self.incidents
        self.book = incidents.book
        self.incident_url_keys = incidents.incident_url_keys
        self.incident_stories = incidents.incident_stories
        self.record_match = incidents.record_match
        self.match_of = incidents.match_of
        self.get_incident = incidents.get_incident
        self.incident_sources = incidents.incident_sources
        self.sightings_of = incidents.sightings_of

        outbox = self.outbox
        self.enqueue = outbox.enqueue
        self.claim = outbox.claim
        self.claim_more = outbox.claim_more
        self.claim_due = outbox.claim_due
        self.release = outbox.release
        self.mark_sent = outbox.mark_sent
        self.mark_sending = outbox.mark_sending
        self.mark_alert = outbox.mark_alert
        self.mark_unsent = outbox.mark_unsent
        self.mark_down = outbox.mark_down
        self.mark_up = outbox.mark_up
        self.give_up_target = outbox.give_up_target
        self.recover_interrupted = outbox.recover_interrupted
        self.mark_retry = outbox.mark_retry
        self.probe_soon = outbox.probe_soon
        self.down_targets = outbox.down_targets
        self.pending_count = outbox.pending_count
        self.delivery_counts = outbox.delivery_counts
        self.alert_sent = outbox.alert_sent
        self.sent_message_id = outbox.sent_message_id
        self.shown_evidence = outbox.shown_evidence
        self.newer_update_shown = outbox.newer_update_shown
        self.next_due_at = outbox.next_due_at
        self.target_status = outbox.target_status
        self.retry_given_up = outbox.retry_given_up
        self.targets_of = outbox.targets_of

        self.get_meta = self.meta.get_meta
        self.set_meta = self.meta.set_meta
        self.bump_counters = self.meta.bump_counters
        self.counters = self.meta.counters

        self.lease_owners = self.leases.lease_owners
        self.expire_leases = self.leases.expire_leases

    @classmethod
    async def open(cls, url: str, *, create: bool = True) -> Store:
        """Connect to ``url`` and check its schema (creating SQLite's file and schema if needed).

        ``create=False`` skips the check, for ``breachradar db`` which manages the schema.
        """
        engine = await create_engine(url)
        store = cls(engine)
        if create:
            try:
                await store.ensure_schema()
            except BaseException:
                await engine.dispose()
                raise
        return store

    @property
    def poll_writes(self) -> int:
        """Transactions that recorded polls (for the benchmarks)."""
        return self.sources.poll_writes

    async def ensure_schema(self) -> None:
        """Create or upgrade a SQLite schema; raise SchemaError if PostgreSQL is not current."""
        from bot.store.migrate import ensure_current

        await ensure_current(self.engine)

    async def create_schema(self) -> None:
        """Apply every migration (what ``breachradar db upgrade`` does)."""
        from bot.store.migrate import upgrade

        await upgrade(self.engine)

    async def ping(self) -> None:
        """Raise if the database is not reachable now (for health checks)."""
        await self.db.ping()

    async def close(self) -> None:
        await self.sources.close()
        await self.engine.dispose()


__all__ = ["CHANNEL_PREFIX", "ClaimedSource", "Store", "TargetClaim", "TargetStatus"]
