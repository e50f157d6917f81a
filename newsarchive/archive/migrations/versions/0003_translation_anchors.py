"""Anchor runs and day-keyed anchor bands, to link translated republications to their original.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "article_anchors",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("anchors", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_anchors_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_anchors")),
    )
    op.create_table(
        "anchor_bands",
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_anchor_bands_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("band", "key", "day", "article_id", name=op.f("pk_anchor_bands")),
    )
    with op.batch_alter_table("anchor_bands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_anchor_bands_article_id"), ["article_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("anchor_bands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_anchor_bands_article_id"))
    op.drop_table("anchor_bands")
    op.drop_table("article_anchors")
