"""Index the date that filters and per-day stats use: published, else first seen.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_articles_effective_date",
        "articles",
        [sa.text("coalesce(published, first_seen)")],
    )


def downgrade() -> None:
    op.drop_index("ix_articles_effective_date", table_name="articles")
