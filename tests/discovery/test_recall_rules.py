"""One test per way the article rule and canonicalisation used to lose real articles.

Pages written here, shaped like the real ones that were missed: a story the publisher lists in
its news sitemap but marks up like any page, Japanese and Chinese stories counted by spaces,
article URLs that look like listings, and spellings the canonical form made unreachable.
"""

from __future__ import annotations

import pytest
from support.newssite import article_html, prose

from newsarchive.discovery.pagetype import classify, url_kind
from newsarchive.discovery.urls import canonicalize_url, url_key
from newsarchive.extraction.textlength import latin_chars, script_of, word_equivalents
from newsarchive.items import Listing

WEAK_STORY = """<html><head><title>Port of Tanvik orders electric tugs</title>
<meta property="og:type" content="website"></head><body><nav><a href="/">Home</a></nav>
<div class="txt">The port authority of Tanvik has ordered four electric tugboats from a yard in
the north, the first in the region, and expects them to enter service next spring.</div>
<div class="txt">Each tug carries a battery of two megawatt hours, charged at the quay.</div>
</body></html>"""

JA_STORY = """<html lang="ja"><head><title>新型EVの生産開始</title></head><body><article>
<h1>新型EVの生産開始</h1><p>{p}</p><p>{p}</p><p>{p}</p><p>{p}</p></article></body></html>""".format(
    p="トヨタ自動車は六日、愛知県の工場で新型の電気自動車の生産を始めたと発表した。"
    "同社は年間十万台の生産を計画しており、部品メーカーとの協力を強化する方針だ。"
    "販売は国内から始め、来年には欧州にも輸出する予定だという。"
)


def test_a_story_listed_in_a_news_sitemap_is_kept_despite_weak_markup() -> None:
    url = "https://tanvik-ports.example/n4"
    assert not classify(WEAK_STORY, url).is_article
    for listed in (Listing.NEWS_SITEMAP, Listing.FEED):
        verdict = classify(WEAK_STORY, url, listed=listed)
        assert verdict.is_article, verdict
        assert f"listed:{listed}" in verdict.reasons
    # a plain sitemap lists tag and author pages too: it is no statement about the page
    assert not classify(WEAK_STORY, url, listed=Listing.SITEMAP).is_article


def test_a_listed_page_with_no_text_is_still_not_an_article() -> None:
    empty = "<html><body><nav><a href='/'>Home</a> <a href='/a'>A</a></nav></body></html>"
    verdict = classify(empty, "https://x.example/n5", listed=Listing.FEED)
    assert not verdict.is_article
    assert "listed:feed:no_text" in verdict.reasons


def test_japanese_and_chinese_length_is_counted_in_characters() -> None:
    ja = "同社は年間十万台の生産を計画しており、部品メーカーとの協力を強化する方針だ。" * 3
    zh = "公司表示，新工厂将主要生产面向欧洲市场的紧凑型电动汽车。" * 3
    assert len(ja.split()) == 1
    assert word_equivalents(ja) == len(ja) // 2 >= 40
    assert word_equivalents(zh) >= 40
    assert word_equivalents("Twelve plain words in a sentence of English, that is all.") == 11
    assert latin_chars("電気") == 6
    assert (script_of(ja), script_of(zh), script_of("Hello")) == ("cjk", "cjk", "latin")


def test_a_japanese_story_is_an_article() -> None:
    verdict = classify(JA_STORY, "https://keizai.example/ja/news/2024/05/6.html")
    assert verdict.is_article, verdict


@pytest.mark.parametrize(
    "url",
    [
        "https://blog.example/822",
        "https://news.example/archive/63076",
        "https://times.example/News/front/archives/2024/10/16/2003825372",
    ],
)
def test_article_urls_that_look_like_listings(url: str) -> None:
    assert url_kind(url) == "other"


@pytest.mark.parametrize(
    "url",
    [
        "https://x.example/2024/05/",
        "https://x.example/2024/05/17/",
        "https://x.example/archive/2024/05/",
        "https://x.example/archive/2024/",
    ],
)
def test_calendar_archives_are_still_listings(url: str) -> None:
    assert url_kind(url) == "listing"


def test_a_lone_year_is_fetched_and_its_content_decides() -> None:
    """``/1927`` is a post id as often as a year: a sitemap entry of that shape is fetched (a
    listing-shaped entry is skipped unfetched), then a year archive is rejected by its teasers
    and a story kept by its text."""
    for url in ("https://blog.example/1927", "https://blog.example/2024/"):
        assert url_kind(url) == "other"
    story = article_html("Researchers apply together for the council chair", 6)
    assert classify(story, "https://blog.example/1927", listed=Listing.SITEMAP).is_article
    teasers = "".join(
        f"<article><h2><a href='/2024/0{1 + i % 9}/story-{i}/'>Story {i} of the year</a></h2>"
        f"<p>{prose(i, paragraphs=1, words=25)[0]}</p></article>"
        for i in range(12)
    )
    archive = f"<html><head><title>2024 - Blog</title></head><body>{teasers}</body></html>"
    verdict = classify(archive, "https://blog.example/2024/", listed=Listing.SITEMAP)
    assert not verdict.is_article, verdict


def test_a_numeric_id_in_the_query_is_an_article_address() -> None:
    """WordPress ``/?p=31228`` and ``mnews.asp?pk_no=…`` name one post, as a path id does;
    ``?page=3`` and ``?s=…`` do not."""
    body = "".join(f"<p>{p}</p>" for p in prose(7, paragraphs=4, words=45))
    page = (
        "<html><head><title>Tesla cuts prices again in Europe - Autonews</title></head><body>"
        "<nav><a href='/'>Start</a> <a href='/news'>News</a></nav><div class='post'>"
        f"<h1>Tesla cuts prices again in Europe</h1>{body}</div></body></html>"
    )
    for url in ("https://autonews.example/?p=31228", "https://x.example/mnews.asp?pk_no=1412361"):
        verdict = classify(page, url, listed=Listing.SITEMAP)
        assert verdict.is_article, verdict
        assert "url:article_shape" in verdict.reasons
    assert "url:article_shape" not in classify(page, "https://x.example/news?page=3").reasons
    assert "url:article_shape" not in classify(page, "https://x.example/?s=tesla").reasons


def test_long_continuous_prose_is_an_article_whatever_its_url() -> None:
    paragraphs = "".join(
        f"<p>Paragraph {i} of a long report on the regional bus network, with enough words "
        "to be prose rather than a teaser, a caption or a link label in a list.</p>"
        for i in range(20)
    )
    page = f"<html><head><title>Report</title></head><body><div>{paragraphs}</div></body></html>"
    assert classify(page, "https://club.example/bericht").is_article


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # a Latin-1 escape stays as the site wrote it (decoding it as UTF-8 broke the URL)
        (
            "https://x.example/page/index.php?scroll=%DCber",
            "https://x.example/page/index.php?scroll=%DCber",
        ),
        # an article id that starts like a Matomo parameter is not tracking
        (
            "https://x.example/mnews.asp?pk_no=1412361&pk_campaign=rss",
            "https://x.example/mnews.asp?pk_no=1412361",
        ),
        # empty segments and matrix parameters are kept
        (
            "https://x.example/news//2024/a;art114,3177663",
            "https://x.example/news//2024/a;art114,3177663",
        ),
        ("https://x.example/News/Mixed-Case.html", "https://x.example/News/Mixed-Case.html"),
        # dot segments are resolved as every client resolves them before sending a request
        (
            "https://x.example/de/preise__312/NewsDetail__18725/.",
            "https://x.example/de/preise__312/NewsDetail__18725/",
        ),
        ("https://x.example/a/./b/../c.html", "https://x.example/a/c.html"),
        ("https://x.example/v1.2/x.html", "https://x.example/v1.2/x.html"),
    ],
)
def test_canonical_spelling_keeps_what_selects_the_page(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected


def test_a_session_id_is_not_part_of_the_identity() -> None:
    a = "https://x.example/texte/14.html;jsessionid=A1B2C3"
    b = "https://x.example/texte/14.html;jsessionid=ZZZ999"
    assert url_key(a) == url_key(b) == "https://x.example/texte/14.html"
