"""Incident cards: each disclosure's extracted fields, and channels' filters on them.

Revision ID: 0007_cards
Revises: 0006_source_display_names
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_cards"
down_revision = "0006_source_display_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # JSON of the fields read from the disclosure, once, when it first matched; NULL for
    # items that never matched (and for those stored before this release, read on demand).
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("card", sa.Text(), nullable=True))
    op.create_table(
        "channel_filters",
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("min_affected", sa.BigInteger(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("unknown_affected", sa.String(length=8), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id"),
    )
    with op.batch_alter_table("channel_filters", schema=None) as batch_op:
        batch_op.create_index("ix_channel_filters_guild", ["guild_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("channel_filters", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_filters_guild")
    op.drop_table("channel_filters")
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.drop_column("card")
