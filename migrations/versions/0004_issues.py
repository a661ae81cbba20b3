"""digest issues: message, state, papers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_papers",
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=200), nullable=True),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("is_update", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["digest_id"], ["digests.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("digest_id", "paper_id"),
    )
    with op.batch_alter_table("digest_papers", schema=None) as batch_op:
        batch_op.create_index("ix_digest_papers_paper", ["paper_id"], unique=False)

    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("html", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("message", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("recipients", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("paper_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("post_count", sa.Integer(), nullable=False, server_default="0"))

    # Issues composed before this revision were written to files: that was their delivery.
    op.execute("UPDATE digests SET status = 'sent' WHERE status = 'composed'")


def downgrade() -> None:
    with op.batch_alter_table("digests", schema=None) as batch_op:
        batch_op.drop_column("post_count")
        batch_op.drop_column("paper_count")
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
        batch_op.drop_column("recipients")
        batch_op.drop_column("message")
        batch_op.drop_column("text")
        batch_op.drop_column("html")

    with op.batch_alter_table("digest_papers", schema=None) as batch_op:
        batch_op.drop_index("ix_digest_papers_paper")

    op.drop_table("digest_papers")
