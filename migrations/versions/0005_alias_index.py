"""drop the unused paper_id index of paper_aliases

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("paper_aliases", schema=None) as batch_op:
        batch_op.drop_index("ix_paper_aliases_paper")


def downgrade() -> None:
    with op.batch_alter_table("paper_aliases", schema=None) as batch_op:
        batch_op.create_index("ix_paper_aliases_paper", ["paper_id"], unique=False)
