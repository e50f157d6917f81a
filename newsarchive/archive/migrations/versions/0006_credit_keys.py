"""Credited page keys, so that a copy and the original it names by URL find each other from
either side (a partial republication shares too little text for the near-duplicate index).

Existing claims are indexed here: their credited URLs are hashed as the archive hashes them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_credit_keys_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "article_id", name=op.f("pk_credit_keys")),
    )
    with op.batch_alter_table("credit_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_keys_article_id"), ["article_id"], unique=False)
    from newsarchive.archive.linking import credit_url_keys

    bind = op.get_bind()
    rows = []
    for article_id, credits in bind.execute(
        sa.text("SELECT article_id, credits FROM article_claims")
    ):
        data = json.loads(credits) if isinstance(credits, str) else credits
        urls = [c.get("url") for c in data or [] if isinstance(c, dict)]
        rows += [{"key": k, "article_id": article_id} for k in credit_url_keys(urls)]
    if rows:
        op.bulk_insert(sa.table("credit_keys", sa.column("key"), sa.column("article_id")), rows)


def downgrade() -> None:
    with op.batch_alter_table("credit_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_keys_article_id"))
    op.drop_table("credit_keys")
