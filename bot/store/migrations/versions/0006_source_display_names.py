"""Sources keep their name as written beside their key.

A source is known to the database by its key, the kebab-case form of its name, which is
what every name had to be before display names: those keys stay as they are, so every
row keeps its history. Beside the key, ``display_name`` holds the name as the
configuration writes it ("Dark Reading"); existing rows get their key, which was their
name.

Revision ID: 0006_source_display_names
Revises: 0005_delivery_targets
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_source_display_names"
down_revision = "0005_delivery_targets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.Text(), nullable=True))
    op.execute(sa.text("UPDATE source_state SET display_name = name"))


def downgrade() -> None:
    with op.batch_alter_table("source_state", schema=None) as batch_op:
        batch_op.drop_column("display_name")
