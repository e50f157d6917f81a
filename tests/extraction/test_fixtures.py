"""Hand-written pages shaped like real sites, in several languages, with tricky dates/bylines.

Every expectation is complete (as in fundus's ``test_parsing``): each Article field has a
non-empty expected value, or is named in ``absent`` (the page has none, and extraction must
return none). ``body`` is given as ``body_starts`` (plus ``body_excludes``), ``published`` as an
exact ``published`` or a ``published_day``.
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from newsarchive.extraction import extract
from newsarchive.items import Article

if TYPE_CHECKING:
    from collections.abc import Callable

FIXTURES = Path(__file__).parent.parent / "fixtures" / "extraction"
CASES = sorted(p.stem for p in FIXTURES.glob("*.json"))
ARTICLE_FIELDS = [f.name for f in fields(Article)]
# Expectation keys that stand for a field.
SPELLINGS = {"body": ("body_starts",), "published": ("published", "published_day")}
# Compared as they are; url, body and the dates have their own checks below.
EXACT_FIELDS = [f for f in ARTICLE_FIELDS if f not in ("url", "body", "published", "modified")]
# Fields whose expectation is a plain form of the value: topics by their ids.
PLAIN: dict[str, Callable[[Any], Any]] = {"topics": lambda tags: [t.topic for t in tags]}


def _expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def test_fixture_set_covers_languages() -> None:
    assert {name.split("-")[0] for name in CASES} >= {"fr", "de", "es", "id", "zh", "ja"}


@pytest.mark.parametrize("name", CASES)
def test_expectations_are_complete(name: str) -> None:
    """A field missing from an expectation, or given as empty, fails: nothing goes unchecked."""
    expected = _expected(name)
    absent = set(expected.get("absent", []))
    assert absent <= set(ARTICLE_FIELDS), absent - set(ARTICLE_FIELDS)
    for field in ARTICLE_FIELDS:
        keys = [k for k in SPELLINGS.get(field, (field,)) if k in expected]
        if field in absent:
            assert not keys, f"{field} is both expected and absent"
            continue
        assert keys, f"{name}: no expectation for {field} (give a value or list it in 'absent')"
        for key in keys:
            assert expected[key] not in (None, "", [], {}), f"{name}: {key} is empty"


@pytest.mark.parametrize("name", CASES)
def test_fixture_page(name: str) -> None:
    expected = _expected(name)
    html = (FIXTURES / f"{name}.html").read_bytes()
    fetched_at = datetime.fromisoformat(expected["fetched_at"])
    article = extract(html, expected["url"], fetched_at)
    assert article is not None
    absent = set(expected.get("absent", []))
    for key in absent:
        assert getattr(article, key) in (None, []), f"{key}: {getattr(article, key)!r}"
    assert article.url == expected["url"]
    for key in EXACT_FIELDS:
        if key not in absent:
            value = PLAIN.get(key, lambda v: v)(getattr(article, key))
            assert value == expected[key], key
    if "published" in expected:
        wanted = datetime.fromisoformat(expected["published"])
        assert article.published == wanted
        assert article.published.utcoffset() == wanted.utcoffset()
    if "published_day" in expected:
        assert article.published is not None
        assert article.published.date() == date.fromisoformat(expected["published_day"])
    if "modified" not in absent:
        assert article.modified == datetime.fromisoformat(expected["modified"])
    assert article.published is None or article.published.tzinfo is not None
    assert article.body.startswith(expected["body_starts"])
    for fragment in expected.get("body_excludes", []):
        assert fragment not in article.body
    assert "\n" in article.body  # paragraphs stay separate
