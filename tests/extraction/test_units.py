from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsarchive.discovery.urls import canonicalize_url
from newsarchive.errors import ConfigError
from newsarchive.extraction import extract
from newsarchive.extraction.authors import split_authors
from newsarchive.extraction.companies import _parse, find_companies
from newsarchive.extraction.dates import (
    as_utc,
    implausible,
    language_list,
    local_offset,
    parse_date,
    parse_structured,
)

FETCHED = datetime(2024, 4, 26, 15, 0, tzinfo=UTC)
PARAGRAPHS = "".join(
    f"<p>Paragraph {i}: the plant’s output rose — “a record”, said the café owner in Zürich.</p>"
    for i in range(5)
)


@pytest.mark.parametrize(
    ("text", "langs", "expected"),
    [
        ("26 aprile 2024", ("it",), datetime(2024, 4, 26, tzinfo=UTC)),
        ("Kamis, 25 April 2024", ("id",), datetime(2024, 4, 25, tzinfo=UTC)),
        ("il y a 3 heures", ("fr",), datetime(2024, 4, 26, 12, 0, tzinfo=UTC)),
        ("vor 2 Stunden", ("de",), datetime(2024, 4, 26, 13, 0, tzinfo=UTC)),
        ("3 ore fa", ("it",), datetime(2024, 4, 26, 12, 0, tzinfo=UTC)),
        ("hace 2 días", ("es",), datetime(2024, 4, 24, 15, 0, tzinfo=UTC)),
        ("2024年4月26日", ("zh",), datetime(2024, 4, 26, tzinfo=UTC)),
        ("2024年4月26日 10時30分", ("ja",), datetime(2024, 4, 26, 10, 30, tzinfo=UTC)),
        ("10.12.2022, 07:00:03", ("de",), datetime(2022, 12, 10, 7, 0, 3, tzinfo=UTC)),
        (
            "2024-04-26T09:30:00-05:00",
            ("en",),
            datetime(2024, 4, 26, 9, 30, tzinfo=timezone(timedelta(hours=-5))),
        ),
        ("Fri, 26 Apr 2024 08:00:00 GMT", ("en",), datetime(2024, 4, 26, 8, tzinfo=UTC)),
    ],
)
def test_parse_date(text: str, langs: tuple[str, ...], expected: datetime) -> None:
    value = parse_date(text, (*langs, "en"), FETCHED)
    assert value == expected
    assert value is not None
    assert value.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["", "on:", "Posted", "9:05 PM", "Nov 24", "n/a"])
def test_parse_date_rejects_non_dates(text: str) -> None:
    assert parse_date(text, ("en",), FETCHED) is None


@pytest.mark.parametrize(("text", "lang"), [("3 Min.", "de"), ("5 min", "en"), ("2 h", "fr")])
def test_a_reading_time_is_no_date(text: str, lang: str) -> None:
    """A duration with no "ago" is a reading time beside the dateline, not "N minutes before"."""
    assert parse_date(text, (lang, "en"), FETCHED) is None


def test_language_list_normalises_hints() -> None:
    assert language_list("fr-FR", None) == ("fr", "en")
    assert language_list("zh-CN", "xx") == ("zh", "en")
    assert language_list(None) == ("en",)


def test_implausible_dates() -> None:
    assert implausible(datetime(1989, 12, 31, tzinfo=UTC), FETCHED) == "before_1990"
    assert implausible(FETCHED + timedelta(days=2), FETCHED) == "future"
    assert implausible(FETCHED + timedelta(hours=20), FETCHED) is None


def test_local_offset_recovered_from_wall_clock() -> None:
    utc = datetime(2023, 11, 9, 1, 9, 55, tzinfo=UTC)
    wall = datetime(2023, 11, 8, 18, 9, 55, tzinfo=UTC)
    local = local_offset(utc, [("2023-11-08 18:09:55", wall)])
    assert local == utc
    assert local.utcoffset() == timedelta(hours=-7)
    assert local.date().isoformat() == "2023-11-08"
    assert local_offset(utc, [("2023-11-08", wall.replace(hour=0, minute=0))]) is utc


@pytest.mark.parametrize(
    ("raw", "people", "orgs"),
    [
        ("By JANE DOE and John Smith | Staff Writer", ["Jane Doe", "John Smith"], []),
        ("Alice Smith, Bob Jones & Carol White", ["Alice Smith", "Bob Jones", "Carol White"], []),
        ("Di Mario Rossi, ANSA", ["Mario Rossi"], ["ANSA"]),
        ("Par Jean Dupont, envoyé spécial à Lyon", ["Jean Dupont"], []),
        ("Von Max Mustermann und Erika Muster, dpa", ["Max Mustermann", "Erika Muster"], ["dpa"]),
        ("Jane Doe (@jdoe) jane@example.com", ["Jane Doe"], []),
        ("Sarah Lee, Senior Correspondent", ["Sarah Lee"], []),
        ("By Reuters Staff", [], ["Reuters"]),
        ("Redazione", [], ["Redazione"]),
        ("Newsdesk", [], ["Newsdesk"]),
        ("Oleh Budi Santoso", ["Budi Santoso"], []),
        ("作者：张伟", ["张伟"], []),
        ("Updated 3 hours ago", [], []),
    ],
)
def test_split_authors(raw: str, people: list[str], orgs: list[str]) -> None:
    assert split_authors(raw) == (people, orgs)


def test_companies_whole_word_and_strict_aliases() -> None:
    text = (
        "Mini displays are cheap. BMW said the new Mini will be built in Oxford. "
        "Harrison Ford drove a VW. Li Xiang spoke about Li Auto. The mini van is a Kiara."
    )
    assert find_companies(text) == ["BMW", "Mini", "Volkswagen", "Li Auto"]
    assert find_companies("Groupe Renault et Renault Group") == ["Renault Group"]
    assert find_companies("今天小米汽车发布新车，比亚迪回应") == ["Xiaomi", "BYD"]
    assert find_companies("a seat in the smart car") == []


def test_gazetteer_validation_errors() -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        _parse("[[company]\nname=", "x.toml")
    with pytest.raises(ConfigError, match="needs at least one alias"):
        _parse('[[company]]\nname = "A"\n', "x.toml")
    with pytest.raises(ConfigError, match="already belongs to 'A'"):
        _parse('[[company]]\nname="A"\naliases=["X"]\n[[company]]\nname="B"\naliases=["X"]\n', "x")
    with pytest.raises(ConfigError, match="unknown key"):
        _parse('[[company]]\nname="A"\naliases=["A"]\nalias="B"\n', "x.toml")


def _page(charset_meta: str = "") -> str:
    return (
        f"<html><head>{charset_meta}<title>Café owners in Zürich</title></head>"
        f"<body><article><h1>Café owners in Zürich</h1>{PARAGRAPHS}</article></body></html>"
    )


@pytest.mark.parametrize(
    ("header", "meta"),
    [
        ("windows-1252", ""),
        ("iso-8859-1", ""),  # WHATWG: latin-1 labels mean windows-1252 (curly quotes, dashes)
        (None, '<meta charset="windows-1252">'),
        (None, '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'),
        (None, ""),  # no declaration at all: detection
        ("utf-8", ""),  # a lying header: bytes are not UTF-8
    ],
)
def test_windows_1252_without_mojibake(header: str | None, meta: str) -> None:
    data = _page(meta).encode("windows-1252")
    article = extract(data, "https://example.com/a", FETCHED, encoding=header)
    assert article is not None
    assert article.title == "Café owners in Zürich"
    assert "the plant’s output rose — “a record”, said the café owner in Zürich" in article.body
    assert "Ã" not in article.body


def test_utf8_bom_and_str_input() -> None:
    text = _page()
    for data in (b"\xef\xbb\xbf" + text.encode(), text):
        article = extract(data, "https://example.com/a", FETCHED)
        assert article is not None
        assert article.title == "Café owners in Zürich"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x01\x02\x03" * 5000,
        bytes(range(256)) * 50,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000,
        b'{"json": "not a page", "items": [1, 2, 3]}',
        "plain text without any markup at all, just words " * 20,
        "<html><head><title>Empty</title></head><body><nav>Home</nav></body></html>",
        "<html><body>" + "<div>" * 5000 + "x" + "</div>" * 5000 + "</body></html>",
    ],
)
def test_garbage_returns_none(data: bytes | str) -> None:
    assert extract(data, "https://example.com/a", FETCHED) is None


def test_canonical_url_rules() -> None:
    base = _page().replace("</head>", "{}</head>")
    foreign = base.format('<link rel="canonical" href="https://aggregator.example/copy/1">')
    article = extract(foreign, "https://news.example.com/a?utm_source=x&id=3#top", FETCHED)
    assert article is not None
    assert article.canonical_url == "https://news.example.com/a?id=3"
    sibling = base.format('<link rel="canonical" href="https://www.example.com/story?gclid=1">')
    article = extract(sibling, "https://m.example.com/story", FETCHED)
    assert article is not None
    assert article.canonical_url == "https://www.example.com/story"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://news.example.com/a;jsessionid=1F2E", "https://news.example.com/a"),
        ("https://news.example.com/a?share=1&id=3", "https://news.example.com/a?id=3"),
        ("https://news.example.com/a?ref=home", "https://news.example.com/a?ref=home"),
        ("https://News.Example.com:443/a?b=2&a=1#c", "https://news.example.com/a?a=1&b=2"),
    ],
)
def test_canonical_url_is_the_crawlers_spelling(url: str, canonical: str) -> None:
    """The article's canonical URL and the crawler's URL identity are one spelling."""
    article = extract(_page(), url, FETCHED)
    assert article is not None
    assert article.canonical_url == canonical == canonicalize_url(url)
    linked = _page().replace("</head>", f'<link rel="canonical" href="{url}"></head>')
    article = extract(linked, "https://m.example.com/other", FETCHED)
    assert article is not None
    assert article.canonical_url == canonical


def test_canonical_link_on_another_loopback_port_is_another_site() -> None:
    """Loopback test sites differ only by port; each is a source of its own."""
    page = _page().replace(
        "</head>", '<link rel="canonical" href="http://127.0.0.1:8043/b"></head>'
    )
    article = extract(page, "http://127.0.0.1:8042/a", FETCHED)
    assert article is not None
    assert article.canonical_url == "http://127.0.0.1:8042/a"
    article = extract(page, "http://127.0.0.1:8043/a", FETCHED)
    assert article is not None
    assert article.canonical_url == "http://127.0.0.1:8043/b"


def test_future_date_is_flagged_not_trusted() -> None:
    page = _page('<meta property="article:published_time" content="2031-01-01T00:00:00Z">')
    article = extract(page, "https://example.com/a", FETCHED)
    assert article is not None
    assert article.date_flags == ["future"]
    assert article.published is None or article.published <= FETCHED + timedelta(days=1)


def test_kicker_and_headline_above_the_body_are_dropped() -> None:
    """Regression: a section kicker printed above the headline kept both in the body."""
    paragraphs = "".join(
        f"<p>Paragraph {i} of the report explains how battery recyclers recover nickel, "
        f"cobalt and lithium from packs that reach the end of their life in cars.</p>"
        for i in range(6)
    )
    html = (
        "<html><head><title>Inside a battery recycling line</title>"
        '<meta property="og:title" content="Inside a battery recycling line">'
        '<meta property="og:type" content="article"></head><body>'
        '<div class="wrap"><div class="col-main"><div class="story">'
        '<span class="story-topic"><a href="/topics/ev.html">EV</a></span>'
        '<h1 class="story-title">Inside a battery recycling line</h1>'
        '<p class="meta">By Dana Whitfield | May 20, 2024</p>'
        f'<div class="story-text">{paragraphs}</div></div></div></div></body></html>'
    )
    article = extract(html, "https://example.com/news/recycling.html")
    assert article is not None
    assert article.body.startswith("Paragraph 0 of the report")


def test_review_jsonld_is_an_article_as_for_page_typing() -> None:
    """Car reviews mark themselves up as schema.org Review; page typing and extraction agree."""
    jsonld = (
        '{"@type": "Review", "headline": "Kia EV9 review: a seven-seat electric SUV",'
        ' "author": {"@type": "Person", "name": "Jane Doe"},'
        ' "datePublished": "2024-04-20T08:00:00Z",'
        ' "itemReviewed": {"@type": "Car", "name": "Kia EV9"}}'
    )
    page = (
        _page()
        .replace("</head>", f'<script type="application/ld+json">{jsonld}</script></head>')
        .replace(
            "<h1>Café owners in Zürich</h1>", "<h1>Kia EV9 review: a seven-seat electric SUV</h1>"
        )
    )
    article = extract(page, "https://example.com/reviews/kia-ev9", FETCHED)
    assert article is not None
    assert article.title == "Kia EV9 review: a seven-seat electric SUV"
    assert article.authors == ["Jane Doe"]
    assert article.published == datetime(2024, 4, 20, 8, tzinfo=UTC)
    assert article.date_source == "jsonld"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        (
            "2024-05-01T10:30:00+02:00",
            datetime(2024, 5, 1, 10, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("2024-05-01T08:30:00.250Z", datetime(2024, 5, 1, 8, 30, 0, 250000, tzinfo=UTC)),
        (
            "  Wed, 01 May 2024 08:30:00 -0400 ",
            datetime(2024, 5, 1, 8, 30, tzinfo=timezone(timedelta(hours=-4))),
        ),
        ("Wed, 01 May 2024 08:30:00 GMT", datetime(2024, 5, 1, 8, 30, tzinfo=UTC)),
        ("26 aprile 2024", None),  # human dates are parse_date's job (dateparser)
        ("yesterday", None),
        ("on:", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_structured(text: str | None, expected: datetime | None) -> None:
    value = parse_structured(text)
    assert value == expected
    if value is not None:
        assert value.utcoffset() == expected.utcoffset()  # the stated offset is kept


def test_as_utc() -> None:
    assert as_utc(None) is None
    assert as_utc(datetime(2024, 5, 1, 10, 0)) == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    local = datetime(2024, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=9)))
    value = as_utc(local)
    assert value == local
    assert value.tzinfo is UTC
    assert value.hour == 1
