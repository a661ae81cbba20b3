"""listing metadata, enrichment and staleness

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("categories", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("upvotes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("code_url", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("project_url", sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column("meta_quality", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("enriched_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feed_built", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("items_fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("stale_count", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("stale_count")
        batch_op.drop_column("items_fingerprint")
        batch_op.drop_column("feed_built")

    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.drop_column("enriched_at")
        batch_op.drop_column("meta_quality")
        batch_op.drop_column("project_url")
        batch_op.drop_column("code_url")
        batch_op.drop_column("upvotes")
        batch_op.drop_column("categories")
