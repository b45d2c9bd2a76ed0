"""The Discord server of each channel delivery, so a sharded bot claims its own rows.

Revision ID: 0003
Revises: 0002
Create Date: 2027-01-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("guild_id", sa.BigInteger(), nullable=True))
    # Alerts still waiting for a channel get its server now; sent ones never need it.
    op.execute(
        sa.text(
            "UPDATE deliveries SET guild_id = ("
            " SELECT MIN(subscriptions.guild_id) FROM subscriptions"
            " WHERE subscriptions.channel_id = CAST(SUBSTR(deliveries.target, 9) AS BIGINT))"
            " WHERE deliveries.target LIKE 'channel:%'"
            " AND deliveries.status IN ('pending', 'sending')"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("guild_id")
