"""paper trust: title/metadata provenance, candidate links, landing pages, per-resolver lookups

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_source", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("meta_source", sa.String(length=40), nullable=True))
    # Titles taken from a section heading (quality 30) named sections, not papers: forget them.
    op.execute("UPDATE papers SET title = NULL, norm_title = NULL, title_quality = 0 WHERE title_quality = 30")

    op.create_table(
        "candidate_links",
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("url", sa.String(length=2000), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("anchor_text", sa.Text(), nullable=True),
        sa.Column("heading", sa.Text(), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
    )
    op.create_index("ix_candidate_links_url", "candidate_links", ["url"])
    op.create_table(
        "landing_pages",
        sa.Column("url", sa.String(length=2000), primary_key=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_table(
        "paper_lookups",
        sa.Column("paper_id", sa.Integer(), sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("resolver", sa.String(length=40), primary_key=True),
        sa.Column("looked_up_at", sa.DateTime(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
    )
    # What the arXiv enricher asked before this revision was asked once: keep it so.
    op.execute(
        "INSERT INTO paper_lookups (paper_id, resolver, looked_up_at, found) "
        "SELECT id, 'arxiv', enriched_at, meta_quality >= 100 FROM papers "
        "WHERE enriched_at IS NOT NULL AND canonical_id LIKE 'arxiv:%'"
    )


def downgrade() -> None:
    op.drop_table("paper_lookups")
    op.drop_table("landing_pages")
    op.drop_index("ix_candidate_links_url", table_name="candidate_links")
    op.drop_table("candidate_links")
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.drop_column("meta_source")
        batch_op.drop_column("title_source")
