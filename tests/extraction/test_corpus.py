"""Quality floors on real pages from the shared corpus (skipped where the corpus is absent).

A sample keeps the run short; bench/extraction.py measures the whole corpus.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
import unicodedata
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from newsarchive.extraction import extract

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
FETCHED = datetime.now(UTC)

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus absent at {CORPUS}")


def _load(prefix: str, step: int) -> list[tuple[dict[str, Any], bytes]]:
    pages = sorted(CORPUS.glob(f"{prefix}-*.json"))[::step]
    return [
        (
            json.loads(p.read_text(encoding="utf-8")),
            gzip.open(p.with_name(p.name.removesuffix(".json") + ".html.gz"), "rb").read(),
        )
        for p in pages
    ]


def _tokens(text: str | None) -> Counter[str]:
    return Counter(re.findall(r"\w+", (text or "").casefold()))


def _f1(predicted: str | None, expected: str) -> float:
    pred, gold = _tokens(predicted), _tokens(expected)
    common = sum((pred & gold).values())
    if not common:
        return 0.0
    p, r = common / sum(pred.values()), common / sum(gold.values())
    return 2 * p * r / (p + r)


def _norm(text: str | None) -> str:
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


@pytest.fixture(scope="module")
def fundus() -> list[tuple[dict[str, Any], Any]]:
    return [
        (t, extract(html, t["url"] or "https://x.invalid/", FETCHED))
        for t, html in _load("fundus", 3)
    ]


def test_fundus_body_title_date_authors(fundus: list[tuple[dict[str, Any], Any]]) -> None:
    assert len(fundus) >= 30
    f1 = [_f1(a.body if a else None, t["body"]) for t, a in fundus if "body" in t["known"]]
    titles = [bool(a) and _norm(a.title) == _norm(t["title"]) for t, a in fundus]
    days = [
        bool(a and a.published) and a.published.date() == date.fromisoformat(t["published"][:10])
        for t, a in fundus
    ]
    authors = [
        bool(a) and {_norm(n) for n in a.authors} == {_norm(n) for n in t["authors"]}
        for t, a in fundus
        if "authors" in t["known"]
    ]
    assert statistics.fmean(f1) >= 0.92
    assert sum(titles) / len(titles) >= 0.7
    assert sum(days) / len(days) >= 0.95
    assert sum(authors) / len(authors) >= 0.65


def test_fundus_dates_are_aware_and_sourced(fundus: list[tuple[dict[str, Any], Any]]) -> None:
    for _, article in fundus:
        assert article is not None
        if article.published is not None:
            assert article.published.tzinfo is not None
            assert article.date_source in {"jsonld", "meta", "microdata", "htmldate", "byline"}


def test_trafilatura_snippets() -> None:
    """Main text keeps what it must and drops boilerplate ("without" snippets)."""
    pages = [(t, html) for t, html in _load("traf", 8) if t.get("snippets")]
    assert len(pages) >= 30
    kept = dropped = total_with = total_without = 0
    for truth, html in pages:
        article = extract(html, truth["url"] or "https://x.invalid/", FETCHED)
        body = _norm(article.body if article else "")
        snippets = truth["snippets"]
        total_with += len(snippets["with"])
        total_without += len(snippets["without"])
        kept += sum(_norm(s) in body for s in snippets["with"])
        dropped += sum(_norm(s) not in body for s in snippets["without"])
    assert kept / total_with >= 0.85
    assert dropped / total_without >= 0.85
