"""What one process of the service counts, in Prometheus terms.

Each :class:`Metrics` has its own registry, so several service instances in one process
(tests, or roles run side by side) never share or collide on a counter. Label values come
from the configuration only (source names, target families), never from scraped text, so
the number of series stays bounded whatever the sources publish.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from bot import __version__
from bot.core.clock import utcnow
from bot.core.records import Delivery
from bot.delivery.observed import SENT
from bot.service.pipeline import SourceResult
from bot.store import Store

log = logging.getLogger(__name__)

# The target families a delivery label may name; anything else counts as "other".
TARGET_KINDS = frozenset({"webhook", "channel", "log"})
# The label of every feed a Discord server added: there may be thousands, one series.
SERVER_FEEDS = "server-feeds"
# From a first sighting to an accepted delivery: seconds when all is well, hours after an
# outage.
LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
POLL_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120)


def target_kind(target: str) -> str:
    """The family of a target (``webhook:alerts`` -> ``webhook``), from a known set."""
    kind = target.split(":", 1)[0]
    return kind if kind in TARGET_KINDS else "other"


class Metrics:
    """The counters of one service process, in a registry of its own."""

    def __init__(self, *, role: str, sources: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.role = role
        self.sources = frozenset(sources)
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.info = Gauge(
            "breachradar_build_info",
            "Always 1: the version and role of this process.",
            ["version", "role"],
            registry=r,
        )
        self.info.labels(__version__, role).set(1)
        self.polls = Counter(
            "breachradar_polls",
            "Polls of a source, by outcome (ok, not_modified, failed, error).",
            ["source", "outcome"],
            registry=r,
        )
        self.poll_seconds = Histogram(
            "breachradar_poll_duration_seconds",
            "How long one poll of a source took, fetch to stored.",
            ["source"],
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self.items = Counter(
            "breachradar_items",
            "Items the polls of a source parsed (seen before or not).",
            ["source"],
            registry=r,
        )
        self.new_items = Counter(
            "breachradar_new_items",
            "Items a source showed for the first time.",
            ["source"],
            registry=r,
        )
        self.matches = Counter(
            "breachradar_matches",
            "New disclosures that matched a watched company (one per company matched).",
            registry=r,
        )
        self.deliveries = Counter(
            "breachradar_deliveries",
            "Delivery attempts through a sink, by how they ended (sent, failed: will be "
            "retried, rejected: refused for good, error).",
            ["target_kind", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "breachradar_alert_latency_seconds",
            "From an item's first sighting by a source to the receiver accepting its alert.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_pending = Gauge(
            "breachradar_outbox_pending",
            "Alerts in the outbox waiting to be delivered (the whole database).",
            registry=r,
        )
        self.last_success = Gauge(
            "breachradar_source_last_success_timestamp_seconds",
            "When a source was last polled successfully, by any process (Unix time).",
            ["source"],
            registry=r,
        )
        self._store: Store | None = None

    # -- polls ---------------------------------------------------------------------------

    def source_label(self, name: str) -> str:
        """A source's label: its configured name; a feed a server added is one of many."""
        return name if name in self.sources else SERVER_FEEDS

    def polled(self, name: str, result: SourceResult | None, seconds: float | None) -> None:
        """Count one poll (``result`` None: the poll crashed) and how long it took."""
        source = self.source_label(name)
        if result is None:
            outcome = "error"
        elif not result.ok:
            outcome = "failed"
        else:
            outcome = "not_modified" if result.not_modified else "ok"
        self.polls.labels(source, outcome).inc()
        if seconds is not None:
            self.poll_seconds.labels(source).observe(seconds)
        if result is None or not result.ok:
            return
        self.items.labels(source).inc(result.items)
        self.new_items.labels(source).inc(result.new)
        self.matches.inc(len(result.found))
        if source != SERVER_FEEDS:
            self.last_success.labels(source).set(utcnow().timestamp())

    # -- deliveries ----------------------------------------------------------------------

    def watch_store(self, store: Store) -> None:
        """Read first sightings and the outbox from ``store``."""
        self._store = store

    async def attempt_ended(self, delivery: Delivery, outcome: str) -> None:
        """Count how one attempt ended; an accepted alert's latency too."""
        self.deliveries.labels(target_kind(delivery.target), outcome).inc()
        if outcome != SENT or self._store is None:
            return
        seen = await self._store.disclosures.first_seen(delivery.disclosure_id)
        if seen is not None:
            self.latency.observe(max(0.0, (utcnow() - seen).total_seconds()))

    # -- read at each scrape -------------------------------------------------------------

    async def refresh(self) -> None:
        """Read what the database knows better than this process: the outbox's size, and
        each source's last success (another process may have polled it)."""
        if self._store is None:
            return
        self.outbox_pending.set(await self._store.pending_count())
        if not self.sources:
            return
        health = await self._store.source_health()
        for name in self.sources:
            known = health.get(name)
            when: datetime | None = known.last_success_at if known else None
            if when is not None:
                self.last_success.labels(name).set(when.timestamp())
