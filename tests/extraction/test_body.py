"""One regression test per body rule, and the single parse trafilatura shares.

Every page here is written for the test (generic sites, invented people), never a real one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml.html import HtmlElement
from support.markup import jsonld

from newsarchive.extraction import extract, parse_html
from newsarchive.extraction.attribution import find_credits
from newsarchive.extraction.body import (
    article_body_text,
    drop_link_lines,
    drop_repeated_lines,
    drop_top_furniture,
    fuller_body,
    link_texts,
)

FETCHED = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
URL = "https://news.example/2024/05/10/plant-output"
SENTENCES = [
    "The assembly plant raised its output again this quarter, the union said on Friday.",
    "Night shifts were added in March after the order book doubled over the winter months.",
    "Suppliers of seats and wiring looms said they had hired two hundred workers since then.",
    "The works council expects the new battery line to start production late next year.",
    "A spokeswoman declined to say how many cars the plant would build in the coming year.",
    "Analysts said the region's other factories were running well below their capacity.",
]
PARAGRAPHS = "".join(f"<p>{s}</p>" for s in SENTENCES)


def _page(
    article: str, *, head: str = "", after: str = "", title: str = "Plant output rises"
) -> str:
    return (
        f"<html lang='en'><head><title>{title}</title>{head}</head><body>"
        f"<article><h1>{title}</h1>{article}</article>{after}</body></html>"
    )


def _body(html: str) -> str:
    article = extract(html, URL, FETCHED)
    assert article is not None
    return article.body


# link lines


def test_related_links_inside_the_text_are_dropped() -> None:
    teaser = "Carmaker opens a second battery plant in the north"
    html = _page(
        PARAGRAPHS[:200]
        + f'<p>Read more: <a href="/2024/05/01/battery">{teaser}</a></p>'
        + '<ul><li><a href="/2024/05/02/strike">Dockworkers end their strike after a week</a></li></ul>'
        + PARAGRAPHS[200:]
    )
    body = _body(html)
    assert teaser not in body
    assert "Dockworkers end their strike" not in body
    assert SENTENCES[0] in body
    assert SENTENCES[-1] in body


def test_teaser_summary_printed_inside_its_link_is_dropped() -> None:
    summary = "An official said the talks on the new wage agreement would continue next week"
    teaser = f'<a href="/2024/05/03/talks"><h3>Talks go on</h3><p>TALKS: {summary}.</p></a>'
    body = _body(_page(PARAGRAPHS + teaser))
    assert summary not in body
    assert SENTENCES[-1] in body


def test_a_url_printed_as_text_or_a_short_linked_subheading_stays() -> None:
    tree = parse_html(
        "<html><body><a href='http://example.org/report.pdf'>http://example.org/report.pdf</a>"
        "<a href='/x'>Union says the deal is done and the strike is off</a></body></html>"
    )
    assert tree is not None
    links = link_texts(tree)
    body = "First paragraph.\nhttp://example.org/report.pdf\nthe deal is done\nLast paragraph."
    assert drop_link_lines(body, links) == body


def test_a_page_that_is_mostly_links_is_left_to_the_article_rule() -> None:
    tree = parse_html(
        "<html><body>"
        + "".join(f"<a href='/{i}'>Headline number {i} of the day's list</a>" for i in range(5))
        + "</body></html>"
    )
    assert tree is not None
    links = link_texts(tree)
    body = "\n".join(f"Headline number {i} of the day's list" for i in range(5)) + "\nShort."
    assert drop_link_lines(body, links) == body


# repeated lines


def test_caption_repeating_a_paragraph_is_kept_once() -> None:
    caption = f"<figure><img src='a.jpg'><figcaption>{SENTENCES[1][:-1]}</figcaption></figure>"
    html = _page(PARAGRAPHS[:400] + caption + PARAGRAPHS[400:])
    assert _body(html).count("Night shifts were added in March") == 1


def test_short_repeated_lines_stay() -> None:
    body = "Background\nFirst paragraph of the story.\nBackground\nSecond paragraph."
    assert drop_repeated_lines(body) == body


# the publisher's own copy of the text


def test_fuller_article_body_replaces_a_cut_extraction() -> None:
    full = "\n".join(SENTENCES * 3)
    cut = "\n".join(SENTENCES[:3])
    assert fuller_body(cut, [full]) == full


def test_article_body_that_does_not_contain_the_extraction_is_ignored() -> None:
    cut = "\n".join(SENTENCES[:3])
    other = "\n".join(f"Another story entirely, number {i}, about a harbour." for i in range(20))
    assert fuller_body(cut, [other]) == cut
    assert fuller_body(cut, [cut + " A few more words."]) == cut  # not fuller: nothing to add


def test_article_body_markup_becomes_lines() -> None:
    raw = "<p>First &amp; foremost.</p><h3>A subhead</h3><p>Second<br>line.</p>"
    assert article_body_text(raw) == "First & foremost.\nA subhead\nSecond\nline."
    assert article_body_text("Plain &amp; simple.\n\nTwo.") == "Plain & simple.\nTwo."


def test_extract_uses_fuller_jsonld_article_body() -> None:
    # the page shows the first paragraphs; the rest sits behind a script-built paywall
    html = _page(
        "".join(f"<p>{s}</p>" for s in SENTENCES[:3]),
        head=jsonld(headline="Plant output rises", articleBody="\n\n".join(SENTENCES)),
    )
    body = _body(html)
    assert SENTENCES[-1] in body
    assert body.split("\n") == SENTENCES


# headline and byline furniture


def test_headline_block_and_byline_at_the_top_are_dropped() -> None:
    body = "\n".join(
        [
            "Plant output rises | Example News",
            "Photo: Example",
            "Economy Plant output rises",
            "By Jane Doe",
            *SENTENCES,
        ]
    )
    cleaned = drop_top_furniture(body, ["Plant output rises"], ["Jane Doe"])
    assert cleaned == "\n".join(["Photo: Example", *SENTENCES])


def test_a_paragraph_quoting_the_headline_and_late_bylines_stay() -> None:
    lead = "Plant output rises, the union said on Friday, and it will keep rising next year too."
    body = "\n".join([lead, *SENTENCES, "By Jane Doe"])
    assert drop_top_furniture(body, ["Plant output rises"], ["Jane Doe"]) == body


def test_page_byline_and_dateline_elements_below_the_lead_are_dropped() -> None:
    html = _page(
        f"<p>{SENTENCES[0]}</p><p class='dateline'>10 May 2024</p>"
        f"<p class='byline'>Jane Doe</p>{PARAGRAPHS[len(SENTENCES[0]) + 7 :]}",
    )
    body = _body(html)
    assert "Jane Doe" not in body
    assert "10 May 2024" not in body
    assert body.startswith(SENTENCES[0])


# one parse


def test_parse_html_gives_the_tree_trafilatura_would_build() -> None:
    from trafilatura.utils import load_html

    html = _page(PARAGRAPHS + "<form><input name='q'><select><option>a</option></select></form>")
    ours, theirs = parse_html(html), load_html(html)
    assert isinstance(ours, HtmlElement)
    assert ours is not None
    assert theirs is not None
    assert [e.tag for e in ours.iter()] == [e.tag for e in theirs.iter()]
    assert ours.text_content() == theirs.text_content()
    # copies keep the parser (trafilatura copies the tree it is handed)
    from copy import copy

    assert isinstance(copy(ours).find(".//select"), HtmlElement)
    assert parse_html("no markup at all, just words") is None


def test_credit_lines_are_found_among_long_containers() -> None:
    # the credit line sits in a container far longer than a line, inside another one
    html = _page(
        "<div><div>" + PARAGRAPHS + "<p>Source: Example Wire</p></div></div>",
    )
    tree = parse_html(html)
    assert tree is not None
    names = [c.name for c in find_credits(tree, URL)]
    assert names == ["Example Wire"]
