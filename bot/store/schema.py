"""Tables, written in SQLAlchemy Core so one schema serves SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

# Per-source fetch state and health, by the source's key (see bot/core/sourcenames.py).
source_state = Table(
    "source_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("display_name", Text),  # the name as written; NULL: the key is the name
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_success_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("last_error_at", DateTime(timezone=True)),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("items_seen", Integer, nullable=False, default=0),
    Column("next_poll_at", DateTime(timezone=True)),
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime(timezone=True)),
)

# Every item any source ever produced, matched or not: "have we seen this?"
disclosures = Table(
    "disclosures",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("source", String(64), nullable=False),  # the source's key
    Column("url", Text, nullable=False),
    Column("url_key", String(32), nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("published", DateTime(timezone=True)),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("organization", Text),
    Column("evidence", String(16), nullable=False),
    Column("language", String(16)),
    # The source states it is an incident (a regulator notice, an 8-K, a leak-site entry).
    Column("by_nature", Boolean, nullable=False, server_default=false()),
    # JSON of the incident-card fields read from the item, once, when it first matched.
    Column("card", Text),
    # Set once matches and alerts are queued; NULL long after first_seen means the process
    # that stored the item died before it got that far, so the next poll takes it up again.
    Index("ix_disclosures_url_key", "url_key"),
    Index("ix_disclosures_first_seen", "first_seen"),
)

# One security event at one company, however many disclosures report it.
incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("company_key", Text, nullable=False),
    Column("company_name", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("evidence", String(16), nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("published", DateTime(timezone=True)),
    Column("summary", Text, nullable=False, default=""),
    Column("fingerprint", Text, nullable=False, default=""),
    # The publication times its disclosures span (first seen where one had no date).
    Column("started_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Index("ix_incidents_company", "company_key", "last_seen"),
)

# Which disclosure matched which company, why, and the incident it belongs to.
matches = Table(
    "matches",
    metadata,
    Column("disclosure_id", String(32), ForeignKey("disclosures.id"), primary_key=True),
    Column("company_key", Text, primary_key=True),
    Column("company_name", Text, nullable=False),
    Column("matched", Text, nullable=False),  # JSON list of the words that matched
    Column("reason", Text, nullable=False, default=""),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # When the disclosure happened (its publication time, else first seen): what grouping
    # reads, per company, around a new disclosure's time.
    Column("event_at", DateTime(timezone=True), nullable=False),
    # The earlier months its text names with their year ("2024-10 2023-10"): how a report
    # published then finds a look back written years later.
    Column("dated", Text, nullable=False, server_default=""),
    # This match opened its incident (its alert announced it).
    Column("opened", Boolean, nullable=False, server_default=false()),
    Index("ix_matches_incident", "incident_id"),
    Index("ix_matches_company_event", "company_key", "event_at"),
)

# The outbox: one row per (target, incident, disclosure) to deliver, kept until sent.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target", Text, nullable=False),  # "webhook:<label>", "channel:<id>", ...
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("disclosure_id", String(32), ForeignKey("disclosures.id"), nullable=False),
    Column("kind", String(16), nullable=False, default="alert"),  # alert | update
    Column("payload", Text, nullable=False),  # JSON of the alert, rendered at enqueue time
    # pending | sending | sent | dead (given up: the receiver refused it for good)
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("message_id", Text),
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime(timezone=True)),
    # The Discord server of a "channel:" target (NULL for webhooks): a bot process running
    # some of the shards claims only the rows of its shards' servers.
    Column("guild_id", BigInteger),
    UniqueConstraint("target", "incident_id", "disclosure_id", name="uq_delivery_once"),
    Index("ix_deliveries_due", "status", "next_attempt_at"),
)

# Each delivery target's health, so that a restarted process knows which receivers are
# down, when to probe them next and which are gone; and which process sends to a target
# right now (one at a time, so its alerts stay in order and a down one gets one probe).
delivery_targets = Table(
    "delivery_targets",
    metadata,
    Column("target", Text, primary_key=True),
    Column("state", String(8), nullable=False, default="up"),  # up | down | gone
    Column("failures", Integer, nullable=False, default=0),  # transient failures in a row
    Column("down_since", DateTime(timezone=True)),  # down or gone since
    Column("next_attempt_at", DateTime(timezone=True)),  # a down target's next probe
    Column("last_error", Text),  # the receiver's last refusal, e.g. "404 Unknown Webhook"
    Column("last_error_at", DateTime(timezone=True)),
    Column("last_success_at", DateTime(timezone=True)),
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime(timezone=True)),
)

# Disclosures stored but not yet matched and queued: a crash between storing an item and
# queueing its alerts leaves the id here, and the next poll finishes the job.
disclosure_pending = Table(
    "disclosure_pending",
    metadata,
    Column("id", String(32), ForeignKey("disclosures.id"), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Metadata the store keeps about itself (schema version, command-sync hash, ...).
meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# -- Discord servers ("guilds"): every row below belongs to exactly one guild -------------

# Companies a server added beyond the operator's watchlist; all servers' companies are
# matched, but only the server that added one sees its aliases and domains.
guild_companies = Table(
    "guild_companies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger, nullable=False),
    Column("key", Text, nullable=False),  # the name, case-folded
    Column("name", Text, nullable=False),
    Column("aliases", Text, nullable=False, default="[]"),  # JSON list
    Column("domains", Text, nullable=False, default="[]"),  # JSON list
    Column("created_by", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("guild_id", "key", name="uq_guild_company"),
)

# Which channel of which server watches which company.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger, nullable=False),
    Column("channel_id", BigInteger, nullable=False),
    Column("company_key", Text, nullable=False),
    Column("company_name", Text, nullable=False),
    Column("created_by", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False, default="ok"),  # ok | broken
    Column("broken_reason", Text),
    UniqueConstraint("guild_id", "channel_id", "company_key", name="uq_subscription"),
    Index("ix_subscriptions_company", "company_key"),
)

# One row per server that changed its alert settings.
guild_settings = Table(
    "guild_settings",
    metadata,
    Column("guild_id", BigInteger, primary_key=True),
    Column("mention_role_id", BigInteger),
    Column("min_evidence", String(16), nullable=False, default="claimed"),
    Column("mode", String(16), nullable=False, default="instant"),  # instant | digest
    Column("updated_by", BigInteger),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A channel's filter on incident cards: at least N affected, or some data categories.
channel_filters = Table(
    "channel_filters",
    metadata,
    Column("channel_id", BigInteger, primary_key=True),
    Column("guild_id", BigInteger, nullable=False),
    Column("min_affected", BigInteger),
    Column("data", Text, nullable=False, default="[]"),  # JSON list of categories
    Column("unknown_affected", String(8), nullable=False, default="hold"),  # hold | alert
    Column("updated_by", BigInteger),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_channel_filters_guild", "guild_id"),
)

# Feeds a server added for itself.
guild_sources = Table(
    "guild_sources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger, nullable=False),
    Column("name", String(64), nullable=False),  # kebab-case source id, unique overall
    Column("page_url", Text, nullable=False),
    Column("feed_url", Text, nullable=False),
    Column("title", Text),
    Column("added_by", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("guild_id", "feed_url", name="uq_guild_source"),
    UniqueConstraint("name", name="uq_guild_source_name"),
)

# Channels Discord refused (deleted, or the bot lost access): delivery stops until fixed.
broken_channels = Table(
    "broken_channels",
    metadata,
    Column("channel_id", BigInteger, primary_key=True),
    Column("guild_id", BigInteger),
    Column("code", Integer),
    Column("reason", Text, nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
)

# Alerts held for a server that asked for a daily digest instead of instant alerts.
digest_items = Table(
    "digest_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger, nullable=False),
    Column("channel_id", BigInteger, nullable=False),
    Column("incident_id", Integer, nullable=False),
    Column("payload", Text, nullable=False),  # JSON of the alert, the latest per incident
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_digest_items_pending", "channel_id", "sent_at"),
)

__all__ = [
    "broken_channels",
    "channel_filters",
    "deliveries",
    "delivery_targets",
    "digest_items",
    "disclosure_pending",
    "disclosures",
    "guild_companies",
    "guild_settings",
    "guild_sources",
    "incidents",
    "matches",
    "meta",
    "metadata",
    "source_state",
    "subscriptions",
]
