from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest

from newsarchive.archive.models import Article, ArticleVersion, Capture, Duplicate, Source
from newsarchive.archive.reports import ArticleNotFoundError, get_article, stats

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from newsarchive.archive import Archive


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _add(
    session: Session,
    source: Source,
    slug: str,
    *,
    published: str | None,
    first_seen: str = "2024-05-01T00:00:00",
    lang: str | None = "en",
) -> Article:
    url = f"https://{source.name}.example/{slug}"
    art = Article(
        source_id=source.id,
        url=url + "?utm_source=feed",
        canonical_url=url,
        title=f"Title {slug}",
        body=f"Body of {slug}.",
        published=_dt(published) if published else None,
        lang=lang,
        authors=["Jean Dupont", "Ada Rossi"],
        companies=["Renault"],
        date_source="jsonld" if published else None,
        word_count=3,
        content_sha256=slug.ljust(64, "0"),
        first_seen=_dt(first_seen),
        last_seen=_dt(first_seen),
    )
    session.add(art)
    session.flush()
    return art


@pytest.fixture
def rows(archive: Archive) -> dict[str, int]:
    with archive.session() as s:
        a, b, c = Source(name="autoblog"), Source(name="motori"), Source(name="empty")
        s.add_all([a, b, c])
        s.flush()
        orig = _add(s, a, "orig", published="2024-05-30T23:30:00")
        copy = _add(s, b, "copy", published="2024-05-31T01:00:00", lang="it")
        undated = _add(s, b, "undated", published=None, first_seen="2024-05-29T12:00:00", lang=None)
        _add(s, a, "old", published="2024-01-01T10:00:00")
        s.add(Duplicate(article_id=copy.id, original_id=orig.id, kind="near", score=0.91))
        for when, status in (("2024-05-31T08:00:00", 200), ("2024-05-30T23:40:00", 200)):
            s.add(
                Capture(
                    source_id=a.id,
                    article_id=orig.id,
                    url=orig.url,
                    final_url=orig.canonical_url,
                    fetched_at=_dt(when),
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
                captured_at=_dt("2024-05-30T23:40:00"),
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
    assert by_id.published == _dt("2024-05-30T23:30:00")
    assert by_id.date_source == "jsonld"
    assert (by_id.version, by_id.previous_versions) == (2, 1)
    assert [(c.fetched_at, c.status) for c in by_id.captures] == [
        (_dt("2024-05-30T23:40:00"), 200),
        (_dt("2024-05-31T08:00:00"), 200),
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
