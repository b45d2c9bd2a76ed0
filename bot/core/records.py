"""What the store hands back: plain records, free of the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scrapers.models import Evidence


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
    display_name: str | None = None  # the name as last configured (None: the key)

    @property
    def shown(self) -> str:
        return self.display_name or self.name


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
    # The publication times its disclosures span (first seen where one had no date).
    started_at: datetime | None = None
    ended_at: datetime | None = None


# -- what Discord servers set up --------------------------------------------------------

# A server's own feeds are named guild-<server id>-<n>: the name says whose they are.
GUILD_SOURCE_PREFIX = "guild-"


@dataclass(frozen=True, slots=True)
class Subscription:
    """One channel watching one company."""

    guild_id: int
    channel_id: int
    company_key: str
    company_name: str
    status: str  # ok | broken
    broken_reason: str | None

    @property
    def broken(self) -> bool:
        return self.status != "ok"


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """How a server wants its alerts."""

    guild_id: int
    mention_role_id: int | None = None
    min_evidence: Evidence = Evidence.CLAIMED
    mode: str = "instant"  # instant | digest

    def wants(self, evidence: Evidence) -> bool:
        return evidence.rank >= self.min_evidence.rank


@dataclass(frozen=True, slots=True)
class GuildSource:
    """A feed one server added for itself."""

    guild_id: int
    name: str
    page_url: str
    feed_url: str
    title: str | None


@dataclass(frozen=True, slots=True)
class HeldAlert:
    """An alert kept for a channel's next digest."""

    id: int
    guild_id: int
    channel_id: int
    created_at: datetime | None
    payload: dict[str, Any]
