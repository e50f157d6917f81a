"""One scan of an article's title and body for its three readers (extraction's companies, the
fingerprint's entities, the story keys'): the same values as each reader's own scan."""

from __future__ import annotations

import gzip
import tomllib
from pathlib import Path

import pytest

from newsarchive.extraction import extract
from newsarchive.extraction.companies import find_companies
from newsarchive.extraction.entities import (
    ArticleEntities,
    article_entities,
    entities,
    shared_scan,
)

MENTIONS = Path(__file__).resolve().parent.parent / "fixtures" / "gazetteer" / "mentions.toml"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def _each_reader(title: str | None, body: str) -> ArticleEntities:
    """What extraction, the fingerprint and the story keys computed before sharing a scan."""
    return ArticleEntities(
        companies=find_companies(title, body),
        body=entities(body),
        text=entities(f"{title or ''}\n{body}"),
    )


def _labelled_texts() -> list[str]:
    cases = tomllib.loads(MENTIONS.read_text(encoding="utf-8"))["case"]
    return [str(case["text"]) for case in cases]


def test_shared_scan_equals_each_readers_scan_on_the_labelled_texts() -> None:
    """Every labelled gazetteer text as a title over two others as a body: strict aliases
    confirmed (or not) by the other text, every script of the gazetteer."""
    texts = _labelled_texts()
    shared = 0
    for i, title in enumerate(texts):
        body = f"{texts[(i + 1) % len(texts)]}\n{texts[(i + 7) % len(texts)]}"
        found = shared_scan(title, body)
        if found is not None:
            shared += 1
            assert found == _each_reader(title, body), (title, body)
        assert article_entities(title, body) == _each_reader(title, body), (title, body)
    assert shared >= 0.8 * len(texts)  # the point: most articles take the single scan


@pytest.mark.parametrize(
    ("title", "body"),
    [
        # plain in the title, strict in the body: confirmed for the article and the story
        # keys (one text), not for the body alone (no cue word in its sentence)
        ("Ford Motor Company names a new chief", "Ford said on Tuesday it would hire."),
        # a capitalised word ending the title stands before the body's first word in the
        # story keys' text only ("Harrison Ford")
        ("An evening with Harrison", "Ford sells cars in Europe."),
        ("Seat belt rules", "Seat belts save lives. Seat sold cars in Spain."),
        (None, "Toyota and Ford built 3,200 cars in Ohio."),
        ("", "BYD 比亚迪 sold 32亿 worth of EVs; 大众 too."),
        ("Tesla (NASDAQ: TSLA) up 5%", "Rivian down 3.5 per cent in Detroit"),
    ],
)
def test_shared_scan_equals_each_readers_scan_at_the_seam(title: str | None, body: str) -> None:
    found = shared_scan(title, body)
    assert found is not None
    assert found == _each_reader(title, body)


def test_the_cases_of_the_premise_differ() -> None:
    """The second case above gives the body and the story keys different companies: the
    readers' contexts really differ, so a shared result must be decided per reader."""
    found = _each_reader("An evening with Harrison", "Ford sells cars in Europe.")
    assert [e.value for e in found.body if e.kind == "company"] == ["ford"]
    assert not [e for e in found.text if e.kind == "company"]


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("Shares of Ford rose on NYSE:", "F closed higher on Friday as Ford sold cars."),
        ("Sales rose to 3", "million cars at Toyota"),
    ],
)
def test_a_match_across_the_seam_falls_back(title: str, body: str) -> None:
    """A match across the line break (a ticker, a figure and its scale): the single scan is
    refused, and the values are each reader's own."""
    assert shared_scan(title, body) is None
    assert article_entities(title, body) == _each_reader(title, body)


def test_a_title_nfkc_changes_takes_its_companies_from_the_raw_text() -> None:
    title, body = "Full\u00a0width \uff22\uff39\uff24 news", "BYD sold cars; Ford too."
    found = shared_scan(title, body)
    assert found is not None
    assert found == _each_reader(title, body)
    assert found.companies == ["BYD", "Ford"]  # the full-width BYD is not in the raw title


def test_shared_scan_equals_each_readers_scan_on_corpus_articles() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus absent: {CORPUS}")
    pages = sorted(CORPUS.glob("*.html.gz"))[::12]
    checked = 0
    for path in pages:
        article = extract(gzip.decompress(path.read_bytes()), f"https://news.example/{path.name}")
        if article is None or not article.body.strip():
            continue
        checked += 1
        assert article_entities(article.title, article.body) == _each_reader(
            article.title, article.body
        ), path.name
        assert article.companies == find_companies(article.title, article.body), path.name
    assert checked >= 40
