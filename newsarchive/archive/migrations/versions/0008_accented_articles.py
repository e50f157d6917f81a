"""List the articles whose text has a word FTS5 folds (an accent), kept by triggers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Why: FTS5 matches accent-folded ("electrique" finds "électrique"), so SQLite's counts check
each candidate's title and body for the exact spelling (``search.sqlite_prefilter``), a body
read per candidate. An article none of whose words has a non-ASCII letter, digit or mark
cannot fail that check for an ASCII query word (each of its FTS5 words is its text as written),
so the counts only need to read the bodies of the articles listed here
(``facets._indexed``). The rule is conservative: a non-ASCII character counts unless it is in
``SEPARATORS`` (spaces, punctuation and symbols that FTS5's unicode61 tokenizer never puts in a
word, checked by ``tests/archive/test_accented_articles.py``), so curly quotes, dashes and
currency signs do not list an article, while a combining accent or a character this list does
not know does.

The table is filled from the existing articles here and kept by triggers on insert and on a
change of title or body (deleting an article drops its row through the foreign key), so every
way of writing articles keeps it, as the FTS5 triggers keep the full-text index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Non-ASCII characters that are never part of an FTS5 word: spaces, punctuation, symbols and
# format characters of the Latin-1 supplement, the general punctuation and the currency
# blocks, as far as Unicode 6.1 (unicode61's tables) had assigned them; the code points it had
# not (U+2065-U+2069, U+20BA on) are word characters there. As bracket-expression ranges,
# valid in SQLite's GLOB and PostgreSQL's regular expressions alike.
SEPARATORS = (
    "\u00a0-\u00a9\u00ab-\u00b1\u00b4\u00b6-\u00b8\u00bb\u00bf\u00d7\u00f7"
    "\u2000-\u2064\u206a-\u206f\u20a0-\u20b9"
)
# any character but tab, newline, carriage return, printable ASCII and the separators
_OTHER = "[^\t\n\r -~" + SEPARATORS + "]"


def accented_sql(column: str, dialect: str) -> str:
    """SQL true when ``column`` has a character that may be in a folded FTS5 word; the byte
    length test first, so an ASCII text (most of the cost) is never pattern-matched."""
    if dialect == "sqlite":
        return (
            f"(length(CAST({column} AS BLOB)) <> length({column}) AND {column} GLOB '*{_OTHER}*')"
        )
    return f"(octet_length({column}) <> char_length({column}) AND {column} ~ '{_OTHER}')"


def _accented_row(prefix: str, dialect: str) -> str:
    return (
        f"({accented_sql(prefix + 'title', dialect)} OR {accented_sql(prefix + 'body', dialect)})"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "accented_articles",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_accented_articles_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_accented_articles")),
    )
    op.execute(
        "INSERT INTO accented_articles (article_id) "
        f"SELECT id FROM articles WHERE {_accented_row('', dialect)}"
    )
    if dialect == "sqlite":
        op.execute(
            "CREATE TRIGGER accented_articles_ai AFTER INSERT ON articles "
            f"WHEN {_accented_row('new.', dialect)} BEGIN "
            "INSERT OR IGNORE INTO accented_articles (article_id) VALUES (new.id); END"
        )
        op.execute(
            "CREATE TRIGGER accented_articles_au AFTER UPDATE OF title, body ON articles BEGIN "
            "DELETE FROM accented_articles WHERE article_id = old.id; "
            "INSERT OR IGNORE INTO accented_articles (article_id) "
            f"SELECT new.id WHERE {_accented_row('new.', dialect)}; END"
        )
        return
    op.execute(
        "CREATE FUNCTION accented_articles_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'UPDATE' THEN "
        "DELETE FROM accented_articles WHERE article_id = OLD.id; END IF; "
        f"IF {_accented_row('NEW.', dialect)} THEN "
        "INSERT INTO accented_articles (article_id) VALUES (NEW.id) ON CONFLICT DO NOTHING; "
        "END IF; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER accented_articles_keep AFTER INSERT OR UPDATE OF title, body "
        "ON articles FOR EACH ROW EXECUTE FUNCTION accented_articles_keep()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS accented_articles_ai")
        op.execute("DROP TRIGGER IF EXISTS accented_articles_au")
    else:
        op.execute("DROP TRIGGER IF EXISTS accented_articles_keep ON articles")
        op.execute("DROP FUNCTION IF EXISTS accented_articles_keep()")
    op.drop_table("accented_articles")
