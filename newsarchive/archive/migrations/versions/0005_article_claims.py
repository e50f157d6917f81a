"""Article claims (site name, credited publishers), the rule that chose each original, and why a
capture is not an article.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_claims",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("site_name", sa.String(length=300), nullable=True),
        sa.Column(
            "credits",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_claims_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_claims")),
    )
    with op.batch_alter_table("duplicates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rule", sa.String(length=16), nullable=True))
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("captures", schema=None) as batch_op:
        batch_op.drop_column("reason")
    with op.batch_alter_table("duplicates", schema=None) as batch_op:
        batch_op.drop_column("rule")
    op.drop_table("article_claims")
