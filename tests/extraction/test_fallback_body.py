"""Pages whose story is in their data, not their markup: extraction still finds the text.

Written here, shaped like script-rendered news pages: the body only in JSON-LD
``articleBody``, in an application state as a rich-text tree (the page's own story beside a
related one), as an HTML string in ``<script type="application/json">``, and a page with no
text anywhere (which stays no article).
"""

from __future__ import annotations

import json

from support.newssite import prose

from newsarchive.extraction import extract, parse_html
from newsarchive.extraction.fallback import fallback_body

URL = "https://js-news.example/politics/2024/05/tsai-playbook"
TITLE = "Tsai Ing-wen's political playbook should be essential reading for Carrie Lam"


def _shell(head: str = "", scripts: str = "") -> str:
    """A page whose visible body is only the empty mount point of a script application."""
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{TITLE}</title>"
        f"<meta property='og:type' content='article'>{head}</head>"
        f"<body><div id='root'></div>{scripts}</body></html>"
    )


def _paragraph_tree(paragraphs: list[str]) -> list[dict[str, object]]:
    """htmlparser2-style nodes: a link splits each paragraph's text, as in real states."""
    nodes: list[dict[str, object]] = []
    for text in paragraphs:
        head, _, tail = text.partition(" ")
        nodes.append(
            {
                "type": "p",
                "children": [
                    {"type": "a", "attribs": {"href": "/x"}, "children": [
                        {"type": "text", "data": head + " "}
                    ]},
                    {"type": "text", "data": tail},
                ],
            }
        )  # fmt: skip
    return nodes


def test_the_jsonld_article_body_is_the_text_when_the_markup_has_none() -> None:
    paragraphs = prose(11, paragraphs=4, words=50)
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": TITLE,
          "datePublished": "2024-05-02T08:00:00+08:00", "articleBody": "\n".join(paragraphs)}  # fmt: skip
    page = _shell(f"<script type='application/ld+json'>{json.dumps(ld)}</script>")
    article = extract(page, URL)
    assert article is not None
    assert article.body.split() == " ".join(paragraphs).split()
    assert article.title == TITLE
    assert article.published is not None


def test_the_page_own_story_is_read_from_its_application_state() -> None:
    own = [f"Tsai Ing-wen and Carrie Lam: {p}" for p in prose(12, paragraphs=5, words=45)]
    related = prose(13, paragraphs=9, words=60)  # longer, but another page's story
    state = {
        "related": {"body": {"json": _paragraph_tree(related)}, "headline": "Budget talks"},
        "article": {"headline": TITLE, "body": {"type": "json", "json": _paragraph_tree(own)}},
    }
    script = f"<script>window.__APOLLO_STATE__={json.dumps(state)};</script>"
    article = extract(_shell(scripts=script), URL)
    assert article is not None
    assert article.body.split("\n") == own


def test_an_html_string_in_a_json_script_is_read_as_paragraphs() -> None:
    paragraphs = [
        f"Tsai Ing-wen's political playbook, Carrie Lam said: {p}"
        for p in prose(14, paragraphs=4, words=50)
    ]
    data = {
        "props": {"page": {"title": TITLE, "content": "".join(f"<p>{p}</p>" for p in paragraphs)}}
    }
    script = f"<script id='__NEXT_DATA__' type='application/json'>{json.dumps(data)}</script>"
    article = extract(_shell(scripts=script), URL)
    assert article is not None
    assert article.body.split("\n") == paragraphs


def test_a_script_application_with_no_text_anywhere_is_no_article() -> None:
    script = "<noscript>You need to enable JavaScript to run this app.</noscript>"
    state = (
        '<script>window.__CONFIG__={"apiBase": "https://api.example", "flags": [1, 2]};</script>'
    )
    page = _shell(scripts=script + state)
    tree = parse_html(page)
    assert tree is not None
    assert fallback_body(tree) is None
    article = extract(page, URL)  # at most the notice, which validation refuses as too short
    assert article is None or article.word_count < 15
