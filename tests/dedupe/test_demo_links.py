"""The bundled demo web's ground truth, through the real extractor and store: every article page
of the three sites is extracted and saved, in a date order and in its reverse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from newsarchive.archive.models import Duplicate
from newsarchive.archive.store import save_page
from newsarchive.demo import SITE_ROOT, ExpectedArticle, PageRef, load_expected
from newsarchive.extraction import extract
from newsarchive.items import FetchedPage

if TYPE_CHECKING:
    from newsarchive.archive import Archive

FETCHED = datetime(2024, 5, 30, 8, 0, tzinfo=UTC)


def demo_page(article: ExpectedArticle) -> FetchedPage:
    path = SITE_ROOT / article.site / article.path.lstrip("/")
    if article.path.endswith("/"):
        path = path / "index.html"
    body = path.read_bytes()
    url = f"https://{article.site}.example{article.path}"
    return FetchedPage(
        url=url,
        requested_url=url,
        status=200,
        body=body,
        fetched_at=FETCHED,
        source=article.site,
        article=extract(body, url),
    )


@pytest.mark.parametrize("newest_first", [False, True])
def test_demo_translation_is_linked_and_independent_piece_is_not(
    archive: Archive, newest_first: bool
) -> None:
    expected = load_expected()
    articles = sorted(expected.articles(), key=lambda a: a.published, reverse=newest_first)
    ids: dict[PageRef, int] = {}
    for article in articles:
        page = demo_page(article)
        assert page.article is not None
        with archive.session() as session:
            result = save_page(session, page)
        assert result.article_id is not None
        ids[article.ref] = result.article_id
    with archive.session() as session:
        links = {
            a: (o, k)
            for a, o, k in session.execute(
                select(Duplicate.article_id, Duplicate.original_id, Duplicate.kind)
            )
        }
    translations = [a for a in articles if a.translation_of]
    independents = [a for a in articles if a.independent_of]
    copies = [a for a in articles if a.copy_of]
    assert translations, "the demo web must have a translated republication"
    assert independents, "the demo web must have an independently written article"
    for article in translations:
        assert article.translation_of is not None
        original = ids[article.translation_of]
        assert links[ids[article.ref]][:2] == (original, "translation")
        assert original not in links
    for article in copies:
        assert article.copy_of is not None
        assert links[ids[article.ref]][0] == ids[article.copy_of]
    for article in independents:
        assert ids[article.ref] not in links
    # nothing else is linked: each link is a stated copy or translation
    assert len(links) == len(translations) + len(copies)
