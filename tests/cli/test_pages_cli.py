"""``pages --not-articles``: what the crawler skipped, and why, from the archive's captures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from newsarchive.archive.store import save_page
from newsarchive.items import Article, FetchedPage, Listing
from newsarchive.pipelines.validate import ValidatePipeline

if TYPE_CHECKING:
    from collections.abc import Callable

    from click.testing import Result

    from newsarchive.archive import Archive

FETCHED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class _Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


def _page(url: str, **fields: object) -> FetchedPage:
    return FetchedPage(
        url=url,
        requested_url=url,
        status=200,
        body=b"<html><body><h1>Tags</h1><a href='/a'>A</a></body></html>",
        fetched_at=FETCHED,
        source="ledger",
        **fields,  # type: ignore[arg-type]
    )


def test_not_articles_are_listed_with_their_reason(
    archive: Archive, invoke: Callable[..., Result]
) -> None:
    tag = _page(
        "https://ledger.example/tag/batteries/",
        drop_reason="not_article",
        reason="score -3.5: url:listing main_block:0 teasers:12",
    )
    brief = _page("https://ledger.example/news/2024/05/brief.html")
    brief.article = Article(
        url=brief.url, canonical_url=brief.url, title="Brief", body="Ten words. " * 2
    )
    ValidatePipeline(_Stats(), 40).process_item(brief)  # type: ignore[arg-type]
    assert brief.drop_reason == "too_short"
    with archive.session() as session:
        save_page(session, tag)
        save_page(session, brief)
    result = invoke("pages", "--not-articles", "--db", archive.url)
    assert result.exit_code == 0, result.output
    assert "not_article  ledger  https://ledger.example/tag/batteries/" in result.output
    assert "score -3.5: url:listing main_block:0 teasers:12" in result.output
    assert "too_short    ledger  https://ledger.example/news/2024/05/brief.html" in result.output
    assert "4 words < 40" in result.output
    rows = [
        json.loads(line)
        for line in invoke(
            "pages", "--not-articles", "--json", "--db", archive.url
        ).output.splitlines()
    ]
    assert {r["status"] for r in rows} == {"not_article", "too_short"}
    assert invoke("pages", "--db", archive.url).exit_code == 2  # say which view


def test_a_listed_brief_is_held_to_a_lower_minimum() -> None:
    """A 20-word brief the publisher put in its feed is news; the same page found by a link is
    a stub."""
    body = "The port of Tanvik ordered four electric tugboats on Monday, the authority said in a short statement to reporters."
    for listed, dropped in ((Listing.FEED, None), (None, "too_short")):
        page = _page("https://ledger.example/n/1", listed=listed)
        page.article = Article(url=page.url, canonical_url=page.url, title="Tugs", body=body)
        ValidatePipeline(_Stats(), 40).process_item(page)  # type: ignore[arg-type]
        assert page.drop_reason == dropped
