"""Hand-written pages shaped like real sites, in several languages, with tricky dates/bylines."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from newsarchive.extraction import extract

FIXTURES = Path(__file__).parent.parent / "fixtures" / "extraction"
CASES = sorted(p.stem for p in FIXTURES.glob("*.json"))
EXACT_FIELDS = (
    "title",
    "authors",
    "organisations",
    "lang",
    "site_name",
    "canonical_url",
    "companies",
    "section",
    "image",
    "tags",
    "date_source",
)


def test_fixture_set_covers_languages() -> None:
    assert {name.split("-")[0] for name in CASES} >= {"fr", "de", "es", "id", "zh", "ja"}


@pytest.mark.parametrize("name", CASES)
def test_fixture_page(name: str) -> None:
    expected = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    html = (FIXTURES / f"{name}.html").read_bytes()
    fetched_at = datetime.fromisoformat(expected["fetched_at"])
    article = extract(html, expected["url"], fetched_at)
    assert article is not None
    for key in EXACT_FIELDS:
        if key in expected:
            assert getattr(article, key) == expected[key], key
    if "published" in expected:
        wanted = datetime.fromisoformat(expected["published"])
        assert article.published == wanted
        assert article.published.utcoffset() == wanted.utcoffset()
    if "published_day" in expected:
        assert article.published is not None
        assert article.published.date() == date.fromisoformat(expected["published_day"])
    if "modified" in expected:
        assert article.modified == datetime.fromisoformat(expected["modified"])
    assert article.published is None or article.published.tzinfo is not None
    assert article.date_flags == []
    assert article.body.startswith(expected["body_starts"])
    for fragment in expected.get("body_excludes", []):
        assert fragment not in article.body
    assert "\n" in article.body  # paragraphs stay separate
