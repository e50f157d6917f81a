"""``accented_articles`` (migration 0008) lists exactly the articles whose title or body has a
character that can sit in a word FTS5 folds, on both backends: filled from the articles an
older archive holds, and kept by the triggers on insert, on a change of title or body and on
delete. The characters the rule lets pass are separators for SQLite's own FTS5 tokenizer."""

from __future__ import annotations

import importlib
import re
import sqlite3
from typing import TYPE_CHECKING

from sqlalchemy import inspect, select, text, update
from support.rows import add_article

from newsarchive.archive.db import alembic_config, upgrade
from newsarchive.archive.models import AccentedArticle, Article

if TYPE_CHECKING:
    from newsarchive.archive import Archive

MIGRATION = importlib.import_module(
    "newsarchive.archive.migrations.versions.0008_accented_articles"
)

# (title, body, listed): each a way a text may or may not hold a folded word
TEXTS = [
    ("Battery plant", "The battery plant opens.", False),
    ("Électrique", "plain body", True),  # an accent in the title only
    ("Plain", "La Dacia électrique arrive.", True),
    ("Quotes", "“Curly” quotes – dashes — and … ellipses, €5, 10 °C, « guillemets »", False),
    ("Sharp s", "Straße", True),  # a letter FTS5 keeps as it is
    ("Combining", "cafe\u0301", True),  # a combining accent, decomposed
    ("Superscript", "CO² levels", True),  # a digit outside ASCII
    ("Feminine ordinal", "1ª edición", True),
    ("No title", "ascii only", False),
]


def _listed(archive: Archive) -> set[int]:
    with archive.session() as s:
        return set(s.scalars(select(AccentedArticle.article_id)))


def _store(archive: Archive) -> dict[int, bool]:
    expected = {}
    with archive.session() as s:
        for i, (title, body, listed) in enumerate(TEXTS):
            art = add_article(s, "autodaily", f"t{i}", None if title == "No title" else title, body)
            expected[art.id] = listed
    return expected


def test_inserted_articles_are_listed_when_a_word_can_fold(archive: Archive) -> None:
    expected = _store(archive)
    assert _listed(archive) == {i for i, listed in expected.items() if listed}


def test_a_changed_title_or_body_updates_the_list_and_a_delete_drops_it(archive: Archive) -> None:
    expected = _store(archive)
    plain, accented = min(expected), min(i for i, listed in expected.items() if listed)
    with archive.session() as s:
        s.execute(update(Article).where(Article.id == plain).values(body="Une voiture électrique"))
        s.execute(update(Article).where(Article.id == accented).values(title="Electrique"))
    listed = _listed(archive)
    assert plain in listed
    assert accented not in listed
    with archive.session() as s:
        s.execute(update(Article).where(Article.id == plain).values(body="An electric car"))
        s.execute(text("DELETE FROM articles WHERE id = :id"), {"id": max(expected)})
    listed = _listed(archive)
    assert plain not in listed
    assert {i for i, on in expected.items() if on} - {accented} == listed


def test_db_upgrade_fills_the_list_from_an_older_archive(archive: Archive) -> None:
    from alembic import command

    with archive.engine.begin() as conn:
        cfg = alembic_config(archive.engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
    with archive.engine.connect() as conn:
        assert "accented_articles" not in inspect(conn).get_table_names()
    expected = _store(archive)  # stored at 0007: no table, no trigger
    assert upgrade(archive) == ("0007", "0008")
    assert _listed(archive) == {i for i, listed in expected.items() if listed}
    with archive.session() as s:  # and the triggers are back
        art = add_article(s, "autodaily", "later", "Später", "plain")
    assert art.id in _listed(archive)


def test_every_separator_the_rule_lets_pass_splits_words_in_fts5() -> None:
    """Each non-ASCII character ``SEPARATORS`` names is a separator for FTS5's unicode61
    tokenizer (the archive's), so it never sits inside a word FTS5 could fold; the letters the
    rule lists are word characters there."""
    ranges = re.findall(r"(.)(?:-(.))?", MIGRATION.SEPARATORS)
    separators = [chr(c) for a, b in ranges for c in range(ord(a), ord(b or a) + 1)]
    assert len(separators) > 150
    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize='unicode61 remove_diacritics 2')")
    con.executemany("INSERT INTO t(rowid, x) VALUES (?, ?)", [
        (ord(c), f"ab{c}cd") for c in separators
    ])  # fmt: skip
    found = {r for (r,) in con.execute("SELECT rowid FROM t WHERE t MATCH 'ab AND cd'")}
    assert found == {ord(c) for c in separators}
    for letter in ("é", "ß", "ª", "²", "\u0301", "\u2066", "\u20ba"):
        con.execute("DELETE FROM t")
        con.execute("INSERT INTO t(rowid, x) VALUES (1, ?)", (f"ab{letter}cd",))
        assert con.execute("SELECT count(*) FROM t WHERE t MATCH 'ab'").fetchone() == (0,), letter
