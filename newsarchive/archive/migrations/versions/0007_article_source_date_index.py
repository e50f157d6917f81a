"""Index each source's articles by the date filters use, for a source filter with a date range.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A search or listing narrowed to one source and a few months reads this index's range
    # alone, instead of all the source's articles or all the months' articles.
    op.create_index(
        "ix_articles_source_date",
        "articles",
        ["source_id", sa.text("coalesce(published, first_seen)")],
    )


def downgrade() -> None:
    op.drop_index("ix_articles_source_date", table_name="articles")
