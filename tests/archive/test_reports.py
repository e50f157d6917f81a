from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pytest
from support.rows import add_article, source_id, utc

from newsarchive.archive.models import Article, ArticleVersion, Capture, Duplicate
from newsarchive.archive.reports import ArticleNotFoundError, get_article, stats

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from newsarchive.archive import Archive


def _add(
    session: Session,
    source: str,
    slug: str,
    *,
    published: str | None,
    first_seen: str = "2024-05-01T00:00:00",
    lang: str | None = "en",
) -> Article:
    return add_article(
        session,
        source,
        slug,
        f"Title {slug}",
        f"Body of {slug}.",
        url=f"https://{source}.example/{slug}?utm_source=feed",
        published=published,
        first_seen=first_seen,
        lang=lang,
        authors=["Jean Dupont", "Ada Rossi"],
        companies=["Renault"],
        date_source="jsonld" if published else None,
        content_sha256=slug.ljust(64, "0"),
    )


@pytest.fixture
def rows(archive: Archive) -> dict[str, int]:
    with archive.session() as s:
        for name in ("autoblog", "motori", "empty"):  # "empty" never gets an article
            source_id(s, name)
        orig = _add(s, "autoblog", "orig", published="2024-05-30T23:30:00")
        copy = _add(s, "motori", "copy", published="2024-05-31T01:00:00", lang="it")
        undated = _add(
            s, "motori", "undated", published=None, first_seen="2024-05-29T12:00:00", lang=None
        )
        _add(s, "autoblog", "old", published="2024-01-01T10:00:00")
        s.add(Duplicate(article_id=copy.id, original_id=orig.id, kind="near", score=0.91))
        for when, status in (("2024-05-31T08:00:00", 200), ("2024-05-30T23:40:00", 200)):
            s.add(
                Capture(
                    source_id=orig.source_id,
                    article_id=orig.id,
                    url=orig.url,
                    final_url=orig.canonical_url,
                    fetched_at=utc(when),
                    status=status,
                    extraction_status="ok",
                )
            )
        s.add(
            ArticleVersion(
                article_id=orig.id,
                version=1,
                title="Old title",
                body="Old body.",
                content_sha256="1" * 64,
                captured_at=utc("2024-05-30T23:40:00"),
            )
        )
        orig.version = 2
        return {"orig": orig.id, "copy": copy.id, "undated": undated.id}


def test_get_article_by_id_url_and_canonical_url(archive: Archive, rows: dict[str, int]) -> None:
    with archive.session() as s:
        by_id = get_article(s, rows["orig"])
        by_text_id = get_article(s, str(rows["orig"]))
        by_url = get_article(s, "https://autoblog.example/orig?utm_source=feed")
        by_canonical = get_article(s, "https://autoblog.example/orig")
    assert by_id == by_text_id == by_url == by_canonical
    assert by_id.source == "autoblog"
    assert by_id.authors == ["Jean Dupont", "Ada Rossi"]
    assert by_id.published == utc("2024-05-30T23:30:00")
    assert by_id.date_source == "jsonld"
    assert (by_id.version, by_id.previous_versions) == (2, 1)
    assert [(c.fetched_at, c.status) for c in by_id.captures] == [
        (utc("2024-05-30T23:40:00"), 200),
        (utc("2024-05-31T08:00:00"), 200),
    ]
    assert by_id.original is None
    assert [(c.id, c.source, c.kind, c.score) for c in by_id.copies] == [
        (rows["copy"], "motori", "near", 0.91)
    ]


def test_copy_points_to_its_original(archive: Archive, rows: dict[str, int]) -> None:
    with archive.session() as s:
        view = get_article(s, rows["copy"])
    assert view.original is not None
    assert (view.original.id, view.original.url) == (rows["orig"], "https://autoblog.example/orig")
    assert view.copies == []
    assert view.captures == []


@pytest.mark.parametrize("key", ["999999", "https://nowhere.example/x", "1' OR '1'='1"])
def test_unknown_article(archive: Archive, rows: dict[str, int], key: str) -> None:
    with archive.session() as s, pytest.raises(ArticleNotFoundError, match="no article"):
        get_article(s, key)


def test_stats(archive: Archive, rows: dict[str, int]) -> None:
    with archive.session() as s:
        st = stats(s, days=4, today=date(2024, 5, 31))
    assert (st.articles, st.originals, st.duplicates, st.captures, st.sources) == (4, 3, 1, 2, 3)
    assert st.per_source == [("autoblog", 2), ("motori", 2), ("empty", 0)]
    assert dict(st.per_language) == {"en": 2, "it": 1, None: 1}
    # UTC days; the undated article counts on its first-seen day; 2024-01-01 is outside
    assert st.per_day == [
        (date(2024, 5, 28), 0),
        (date(2024, 5, 29), 1),
        (date(2024, 5, 30), 1),
        (date(2024, 5, 31), 1),
    ]
    as_dict = st.as_dict()
    assert as_dict["per_language"] == {"en": 2, "it": 1, "unknown": 1}
    assert as_dict["per_day"]["2024-05-29"] == 1


def test_stats_on_empty_archive(archive: Archive) -> None:
    with archive.session() as s:
        st = stats(s, days=2, today=date(2024, 5, 31))
    assert (st.articles, st.sources, st.per_source, st.per_language) == (0, 0, [], [])
    assert st.per_day == [(date(2024, 5, 30), 0), (date(2024, 5, 31), 0)]
