"""Group incidents on the disclosures' own publication times.

Each match keeps when its disclosure happened (``event_at``: the publication time, or first
seen for an item without a date or with one in the future of when it was seen), the
earlier months its text names with their year (``dated``), and whether it opened its
incident; each disclosure whether its source states it is an incident; each
incident the span of its disclosures' times.

Revision ID: 0004_event_time
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0004_event_time"
down_revision = "0003"
branch_labels = None
depends_on = None

# bot.core.incidents.FUTURE_SKEW when this revision was written.
_FUTURE_SKEW = timedelta(days=1)

_disclosures = sa.table(
    "disclosures",
    sa.column("id", sa.String),
    sa.column("title", sa.Text),
    sa.column("published", sa.DateTime(timezone=True)),
    sa.column("first_seen", sa.DateTime(timezone=True)),
)
_matches = sa.table(
    "matches",
    sa.column("disclosure_id", sa.String),
    sa.column("company_key", sa.Text),
    sa.column("incident_id", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("event_at", sa.DateTime(timezone=True)),
    sa.column("opened", sa.Boolean),
)
_incidents = sa.table(
    "incidents",
    sa.column("id", sa.Integer),
    sa.column("title", sa.Text),
)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def upgrade() -> None:
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("by_nature", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("opened", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        # Left empty for matches stored before: a look back among them is found only from
        # the report it names, not the other way round.
        batch_op.add_column(sa.Column("dated", sa.Text(), server_default="", nullable=False))
    _fill_matches(op.get_bind())
    op.execute(
        sa.text(
            "UPDATE incidents SET"
            " started_at = (SELECT MIN(matches.event_at) FROM matches"
            " WHERE matches.incident_id = incidents.id),"
            " ended_at = (SELECT MAX(matches.event_at) FROM matches"
            " WHERE matches.incident_id = incidents.id)"
        )
    )
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.alter_column("event_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index("ix_matches_company_event", ["company_key", "event_at"], unique=False)


def _fill_matches(conn: sa.Connection) -> None:
    """Each match's time, and which match opened its incident (the first one recorded; of
    several recorded together, the one whose title the incident took)."""
    rows = conn.execute(
        sa.select(
            _matches.c.disclosure_id,
            _matches.c.company_key,
            _matches.c.incident_id,
            _matches.c.created_at,
            _disclosures.c.title,
            _disclosures.c.published,
            _disclosures.c.first_seen,
            _incidents.c.title.label("incident_title"),
        )
        .join(_disclosures, _disclosures.c.id == _matches.c.disclosure_id)
        .join(_incidents, _incidents.c.id == _matches.c.incident_id)
    ).all()
    openers: dict[int, tuple[tuple[object, ...], tuple[str, str]]] = {}
    for r in rows:
        published, first_seen = _aware(r.published), _aware(r.first_seen)
        assert first_seen is not None
        event_at = (
            first_seen if published is None or published > first_seen + _FUTURE_SKEW else published
        )
        conn.execute(
            sa.update(_matches)
            .where(
                _matches.c.disclosure_id == r.disclosure_id,
                _matches.c.company_key == r.company_key,
            )
            .values(event_at=event_at)
        )
        rank = (_aware(r.created_at), r.title != r.incident_title, r.disclosure_id)
        best = openers.get(r.incident_id)
        if best is None or rank < best[0]:
            openers[r.incident_id] = (rank, (r.disclosure_id, r.company_key))
    for _, (disclosure_id, company_key) in openers.values():
        conn.execute(
            sa.update(_matches)
            .where(
                _matches.c.disclosure_id == disclosure_id,
                _matches.c.company_key == company_key,
            )
            .values(opened=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_index("ix_matches_company_event")
        batch_op.drop_column("dated")
        batch_op.drop_column("opened")
        batch_op.drop_column("event_at")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("ended_at")
        batch_op.drop_column("started_at")
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.drop_column("by_nature")
