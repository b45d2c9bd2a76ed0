"""Each delivery target's health: up, down (and when to probe it) or gone.

Alerts no longer back off one by one: a target that fails is down as a whole and probed
every few seconds, so the alerts an older release put off for up to an hour are due now.

Revision ID: 0005_delivery_targets
Revises: 0004_event_time
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_delivery_targets"
down_revision = "0004_event_time"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_targets",
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("down_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("target"),
    )
    # What waits for a per-alert backoff (or behind one) is due at once; the target's
    # state decides from now on.
    op.execute(
        sa.text(
            "UPDATE deliveries SET next_attempt_at = created_at"
            " WHERE status = 'pending' AND next_attempt_at > created_at"
        )
    )


def downgrade() -> None:
    op.drop_table("delivery_targets")
