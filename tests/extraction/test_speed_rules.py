"""Work saved in extraction gives the answers the full work gave (pages written for the tests).

Each rule here skips or shares work for speed; these tests hold it to the result of the slow way
(trafilatura's own metadata reading, a fresh topic look-up), so a faster path cannot change what
an article is tagged or credited with.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime

import pytest
import trafilatura

from newsarchive.extraction import extract, parse_html
from newsarchive.extraction import topics as topics_module
from newsarchive.extraction.topics import load_topics, tag_topics
from newsarchive.extraction.trafilatura_reading import (
    SEARCHED_BYLINE_MAX_CHARS,
    categories,
    read_page,
)

FETCHED = datetime(2024, 4, 26, 15, 0, tzinfo=UTC)
URL = "https://news.example.org/2024/04/25/plant-output"
TEXT = "".join(
    f"<p>Paragraph {i}: the plant raised its output again, the union said on Friday, and the "
    "carmaker confirmed the battery line will run a third shift from May.</p>"
    for i in range(6)
)
# metadata in tags and JSON-LD
TAGGED = f"""<html lang="en"><head><title>Plant output rises | Example News</title>
<meta property="og:title" content="Plant output rises">
<meta property="og:site_name" content="Example News">
<meta name="description" content="The plant raised its output.">
<meta property="og:image" content="https://news.example.org/img/plant.jpg">
<meta name="author" content="Jane Doe">
<meta property="article:section" content="Industry">
<meta name="keywords" content="plants, batteries">
<meta property="article:published_time" content="2024-04-25T08:00:00+02:00">
<script type="application/ld+json">{{"@type": "NewsArticle", "headline": "Plant output rises",
 "author": {{"@type": "Person", "name": "Jane Doe"}}, "articleSection": "Industry",
 "keywords": "plants, batteries"}}</script></head>
<body><article><h1>Plant output rises</h1>{TEXT}</article>
<footer><a rel="license" href="https://creativecommons.org/licenses/by-sa/4.0/">CC</a></footer>
</body></html>"""
# nothing but markup: byline, categories and tags only as classed elements and links
MARKUP = f"""<html><head><title>Plant output rises - Example News</title></head>
<body><div class="post-meta"><a href="/category/industry/">Industry</a>
<a href="/category/batteries/">Batteries</a></div>
<article><h1>Plant output rises</h1><p class="byline">By <a href="/authors/jd">Jane Doe</a>
<time datetime="2024-04-25">25 April 2024</time></p>{TEXT}
<div class="tags"><a href="/tag/plants/">plants</a> <a href="/tags/shifts/">shifts</a>
<a href="/about/">About</a></div></article>
<div class="footer"><a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a></div>
</body></html>"""
FIELDS = ("title", "author", "date", "sitename", "description", "image", "tags", "url", "text")


@pytest.mark.parametrize("page", [TAGGED, MARKUP], ids=["tagged", "markup"])
def test_reading_gives_trafilatura_metadata(page: str) -> None:
    """Body and metadata read apart are what bare_extraction(with_metadata=True) gives."""
    params = {"extensive_search": False, "original_date": True, "max_date": "2024-04-27"}
    whole = trafilatura.bare_extraction(
        parse_html(page),
        url=URL,
        include_comments=False,
        include_tables=True,
        with_metadata=True,
        deduplicate=False,
        date_extraction_params=params,
    )
    tree = parse_html(page)
    assert tree is not None
    reading = read_page(tree, URL, FETCHED)
    assert reading is not None
    reading.byline()
    apart = reading.doc
    assert whole is not None
    assert apart is not None
    for name in FIELDS:
        assert getattr(apart, name) == getattr(whole, name), name
    assert categories(tree, apart) == whole.categories
    assert whole.categories  # the page gives some, in a meta tag or as links


def test_categories_are_searched_only_without_a_section() -> None:
    """The page's own section wins; trafilatura's link categories are the last resort."""
    tagged, markup = extract(TAGGED, URL, FETCHED), extract(MARKUP, URL, FETCHED)
    assert tagged is not None
    assert tagged.section == "Industry"
    assert markup is not None
    assert markup.section == "Industry"


def test_topic_lookup_memo_changes_no_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tags with a warm memo, a cold one and one that starts again every token are the same."""
    title = "EV battery recall: Autonomous driving software update"
    body = (
        "The carmaker recalls 10,000 electric vehicles over battery fires. An over-the-air "
        "update of the driver-assistance software follows; the union called a strike at the "
        "plant. Der Rückruf betrifft Elektroautos. La fábrica de baterías para y el AI team."
    )
    index = load_topics()
    index.starting.clear()
    cold = tag_topics(title, body, index=index)
    warm = tag_topics(title, body, index=index)
    monkeypatch.setattr(topics_module, "STARTING_MEMO_MAX", 1)
    index.starting.clear()
    tiny = tag_topics(title, body, index=index)
    index.starting.clear()
    assert cold == warm == tiny
    assert cold  # the text is about several topics


def test_searched_byline_bound() -> None:
    """Case mapping turns no character into more than three word characters, so a searched
    byline (under 120 characters) has at most SEARCHED_BYLINE_MAX_CHARS of them."""
    widest = 0
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        for mapped in (char, char.title(), char.lower(), char.upper()):
            widest = max(widest, len(re.sub(r"[\W_]+", "", mapped.casefold())))
    assert widest * 119 <= SEARCHED_BYLINE_MAX_CHARS


BYLINE_TOP = f"""<html><head><title>Plant output rises</title></head><body><article>
<h1>Plant output rises</h1><div class="author-box">Jane Doe</div>
<p>{"The plant raised its output again, the union said. " * 12}</p>{TEXT}</article></body></html>"""


def test_a_byline_line_is_dropped_whether_or_not_searched() -> None:
    """A byline line at the top of the body still goes with trafilatura's byline asked for on
    demand; the long first paragraph after it stays."""
    article = extract(BYLINE_TOP, URL, FETCHED)
    assert article is not None
    assert not article.body.startswith("Jane Doe")
    assert article.body.startswith("The plant raised")
