"""claims on sources for workers sharing one store (issue 13); a paper's thumbnail (issue 14)

A worker claims the due sources it fetches: `claimed_by` names it and `claim_expires_at` ends the lease, so a
worker killed mid-fetch holds its sources only until then. `papers.thumbnail_url` is a picture of the paper
(a listing's thumbnail, a landing page's og:image) for its card.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("claim_expires_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thumbnail_url", sa.String(2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.drop_column("thumbnail_url")
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("claim_expires_at")
        batch_op.drop_column("claimed_by")
