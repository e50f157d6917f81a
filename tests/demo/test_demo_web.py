"""The bundled demo web is served for real and checked against its own ground truth.

Everything here goes over HTTP to the LocalWeb servers, so the placeholders, the directory
index handling and the files that ship are what is being tested, not the files on disk.
"""

from __future__ import annotations

import glob
import json
import re
import tomllib
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from lxml import etree, html
from support.http import fetch

from newsarchive.demo import (
    EXPECTED,
    SITE_ROOT,
    DemoExpectation,
    ExpectedArticle,
    PageRef,
    demo_sites,
    demo_sources,
    load_expected,
)

if TYPE_CHECKING:
    from newsarchive.demo.server import LocalWeb

REPO = Path(__file__).resolve().parents[2]
EXP = load_expected()
ARTICLES = EXP.articles()
# Where each template keeps the article text (the rest of the page is boilerplate).
BODY_XPATH = {
    "autodaily": "//div[contains(concat(' ', @class, ' '), ' article-body ')]",
    "motorwire": "//div[@class='story-text']",
    "autoitalia": "//div[@class='testo-articolo']",
}
MONTHS_IT = [
    "gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
    "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre",
]  # fmt: skip
MAX_FETCHES = 400
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def get(url: str) -> bytes:
    status, body, _ = fetch(url)
    assert status == 200, f"{url} -> {status}"
    return body


def test_demo_sources_point_at_the_running_sites(demo_web: LocalWeb) -> None:
    sources = demo_sources(demo_web)
    assert [s.name for s in sources] == list(EXP.sites)
    for source in sources:
        site = EXP.sites[source.name]
        assert (source.display_name, source.language) == (site.title, site.language)
        assert source.homepage == demo_web.url(source.name)
        assert b"<html" in get(source.homepage).lower()


def site_of(web: LocalWeb, url: str) -> str | None:
    for name in web.sites:
        base = web.base(name)
        if url == base or url.startswith(base + "/"):
            return name
    return None


def page(web: LocalWeb, ref: PageRef | ExpectedArticle) -> html.HtmlElement:
    return html.fromstring(get(web.url(ref.site, ref.path)))


def body_text(web: LocalWeb, article: ExpectedArticle) -> str:
    tree = page(web, article)
    (body,) = tree.xpath(BODY_XPATH[article.site])
    return "\n".join(p.text_content() for p in body.iter("p"))


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    tokens = re.findall(r"\w+", text.lower())
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def jaccard(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    return len(a & b) / len(a | b)


# -- packaging ----------------------------------------------------------------------------------


def test_every_site_file_matches_the_package_data_glob() -> None:
    """A non-editable install ships only what setuptools' recursive globs match."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["newsarchive.demo"]
    package_dir = SITE_ROOT.parent
    shipped: set[str] = set()
    # glob.glob, not Path.glob: it is what setuptools build_py expands package-data with, and it
    # skips dotfiles the way an install would.
    for pattern in patterns:
        for match in glob.glob(pattern, root_dir=package_dir, recursive=True):  # noqa: PTH207
            if (package_dir / match).is_file():
                shipped.add(Path(match).as_posix())
    on_disk = {p.relative_to(package_dir).as_posix() for p in SITE_ROOT.rglob("*") if p.is_file()}
    assert len(on_disk) > 50
    assert on_disk - shipped == set()
    assert EXPECTED.relative_to(package_dir).as_posix() in shipped


def test_one_site_per_directory_and_expected_covers_them() -> None:
    assert [site.name for site in demo_sites()] == ["autodaily", "autoitalia", "motorwire"]
    assert set(EXP.sites) == {site.name for site in demo_sites()}
    assert isinstance(EXP, DemoExpectation)
    assert len(EXP.sites["autodaily"].articles) >= 12
    assert 3 <= len(EXP.sites["motorwire"].articles) <= 5
    assert 2 <= len(EXP.sites["autoitalia"].articles) <= 3
    raw = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert raw["stories"][0]["original"] == {
        "site": "autodaily",
        "path": "/2024/04/26/renault-group-talks-xiaomi-li-auto-ev-technology/",
    }


# -- links, sitemaps, feeds ---------------------------------------------------------------------


def _links(base_url: str, body: bytes, ctype: str) -> list[str]:
    if "xml" in ctype:
        root = etree.fromstring(body, XML_PARSER)
        found = root.xpath("//*[local-name()='loc' or local-name()='link' or local-name()='guid']")
        out = [(el.text or el.get("href") or "").strip() for el in found]
        out += [el.get("href") for el in root.xpath("//*[@href]")]
        return [u for u in out if u]
    if ctype.startswith("text/plain"):
        text = body.decode()
        return [
            line.split(":", 1)[1].strip()
            for line in text.splitlines()
            if line.startswith("Sitemap:")
        ]
    if not ctype.startswith("text/html"):
        return []
    tree = html.fromstring(body)
    refs = tree.xpath("//a/@href | //link/@href | //script/@src | //img/@src | //form/@action")
    return [urljoin(base_url, ref) for ref in refs]


def test_every_internal_link_resolves_and_every_page_is_known(demo_web: LocalWeb) -> None:
    start = []
    for site in EXP.sites.values():
        start += [demo_web.url(site.name, site.home), demo_web.url(site.name, site.robots)]
    queue, seen, broken = list(start), set(start), []
    html_pages: set[tuple[str, str]] = set()
    fetches = 0
    while queue:
        fetches += 1
        assert fetches <= MAX_FETCHES, "link graph larger than the demo web should be"
        url = queue.pop()
        status, body, headers = fetch(url)
        ctype = headers.get("Content-Type", "")
        if status != 200:
            broken.append((url, status))
            continue
        assert b"{{site:" not in body, url
        name = site_of(demo_web, url)
        assert name is not None
        if ctype.startswith("text/html"):
            html_pages.add((name, urlsplit(url).path))
        for link in _links(url, body, ctype):
            link = urldefrag(link).url
            if site_of(demo_web, link) is None:
                assert not link.startswith("http://127.0.0.1"), link
                continue
            if link not in seen:
                seen.add(link)
                queue.append(link)
    assert broken == []
    for site in EXP.sites.values():
        known = {a.path for a in site.articles} | set(site.non_articles)
        reached = {path for name, path in html_pages if name == site.name}
        assert reached == known, site.name


def test_sitemaps_feeds_and_robots_list_exactly_the_articles(demo_web: LocalWeb) -> None:
    for site in EXP.sites.values():
        articles = {demo_web.url(site.name, a.path): a for a in site.articles}
        robots = get(demo_web.url(site.name, site.robots)).decode()
        declared = [
            ln.split(":", 1)[1].strip() for ln in robots.splitlines() if ln.startswith("Sitemap:")
        ]
        assert declared == [demo_web.url(site.name, s) for s in site.sitemaps]
        for sitemap in site.sitemaps:
            root = etree.fromstring(get(demo_web.url(site.name, sitemap)), XML_PARSER)
            ns = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
            assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
            locs = [el.text for el in root.xpath("//sm:url/sm:loc", namespaces=ns)]
            assert sorted(locs) == sorted(articles)
            for url_el in root.xpath("//sm:url", namespaces=ns):
                lastmod = url_el.xpath("string(sm:lastmod)", namespaces=ns)
                article = articles[url_el.xpath("string(sm:loc)", namespaces=ns)]
                assert datetime.fromisoformat(lastmod).date() >= article.published.date()
        for feed in site.feeds:
            root = etree.fromstring(get(demo_web.url(site.name, feed)), XML_PARSER)
            assert root.tag == "rss"
            assert root.get("version") == "2.0"
            items = root.xpath("/rss/channel/item")
            assert sorted(item.findtext("link") for item in items) == sorted(articles)
            for item in items:
                article = articles[item.findtext("link")]
                assert item.findtext("title") == article.title
                assert parsedate_to_datetime(item.findtext("pubDate")) == article.published
        home = html.fromstring(get(demo_web.url(site.name, site.home)))
        alternates = home.xpath("//link[@rel='alternate'][@type='application/rss+xml']/@href")
        assert [urljoin(demo_web.url(site.name), h) for h in alternates] == [
            demo_web.url(site.name, f) for f in site.feeds
        ]


def test_industry_section_is_paginated_with_rel_links(demo_web: LocalWeb) -> None:
    chain, path, previous = [], "/industry/", None
    while path is not None:
        assert len(chain) < 10
        chain.append(path)
        tree = page(demo_web, PageRef("autodaily", path))
        prev = tree.xpath("//head/link[@rel='prev']/@href")
        assert prev == ([] if previous is None else [demo_web.url("autodaily", previous)])
        nxt = tree.xpath("//head/link[@rel='next']/@href")
        previous, path = path, (urlsplit(nxt[0]).path if nxt else None)
    assert chain == ["/industry/", "/industry/page/2/", "/industry/page/3/"]


# -- article pages ------------------------------------------------------------------------------


def _meta(tree: html.HtmlElement, prop: str) -> list[str]:
    return tree.xpath(f"//head/meta[@property='{prop}' or @name='{prop}']/@content")


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: f"{a.site}:{a.path}")
def test_article_page_metadata_byline_and_body(
    demo_web: LocalWeb, article: ExpectedArticle
) -> None:
    url = demo_web.url(article.site, article.path)
    raw = get(url)
    tree = html.fromstring(raw)
    assert tree.get("lang", "").split("-")[0] == article.language
    assert tree.xpath("//head/link[@rel='canonical']/@href") == [url]
    assert _meta(tree, "og:type") == ["article"]
    assert _meta(tree, "og:url") == [url]
    assert _meta(tree, "og:title") == [article.title]
    assert _meta(tree, "og:site_name") == [EXP.sites[article.site].title]
    assert [datetime.fromisoformat(v) for v in _meta(tree, "article:published_time")] == [
        article.published
    ]
    assert tree.xpath("string(//h1)").strip() == article.title
    assert datetime(2024, 4, 1).date() <= article.published.date() <= datetime(2024, 5, 31).date()
    assert article.published.utcoffset() is not None

    (body,) = tree.xpath(BODY_XPATH[article.site])
    text = "\n".join(p.text_content() for p in body.iter("p"))
    assert 300 <= len(text.split()) <= 900
    assert len(text.split()) == article.words
    for snippet in article.snippets_with:
        assert snippet in text
    page_text = tree.text_content()
    for snippet in article.snippets_without:
        assert snippet in page_text
        assert snippet not in text

    if article.site == "autodaily":
        byline = tree.xpath("string(//div[@class='byline'])")
        assert " ".join(byline.split()) == article.byline
        assert (
            tree.xpath("//div[@class='byline']/time/@datetime")[0] == article.published.isoformat()
        )
        assert re.search(
            rf"\b{article.published.day} (April|May) 2024, \d\d:\d\d [A-Z]{{3,4}}", byline
        )
        scripts = tree.xpath("//script[@type='application/ld+json']/text()")
        (ld,) = [json.loads(s) for s in scripts]
        assert ld["@type"] == "NewsArticle"
        assert ld["headline"] == article.title
        assert datetime.fromisoformat(ld["datePublished"]) == article.published
        assert ld["author"]
        assert [a["name"] for a in ld["author"]] == list(article.authors)
        assert all(a["@type"] == "Person" for a in ld["author"])
        assert ld["publisher"]["name"] == "Auto Industry Daily"
        assert ld["mainEntityOfPage"]["@id"] == url
        if article.modified is not None:
            assert datetime.fromisoformat(ld["dateModified"]) == article.modified
    elif article.site == "motorwire":
        assert tree.xpath("//script[@type='application/ld+json']") == []
        byline = tree.xpath("string(//p[@class='meta'])")
        p = article.published
        assert byline == article.byline == f"By {article.authors[0]} | {p:%B} {p.day}, {p.year}"
    else:
        byline = tree.xpath("string(//div[@class='firma'])")
        p = article.published
        assert byline == article.byline
        assert re.fullmatch(
            rf"Di [\w ]+ · {p.day} {MONTHS_IT[p.month - 1]} 2024, ore {p.hour}:{p:%M}", byline
        )
    for author in article.authors:
        assert author in byline


# -- the Renault–Xiaomi story -------------------------------------------------------------------


def test_renault_xiaomi_original_copy_translation_and_independent_piece(demo_web: LocalWeb) -> None:
    by_relation = {
        (a.copy_of, a.translation_of, a.independent_of): a
        for a in ARTICLES
        if a.copy_of or a.translation_of or a.independent_of
    }
    assert len(by_relation) == 3
    (copy,) = [a for a in ARTICLES if a.copy_of]
    (translation,) = [a for a in ARTICLES if a.translation_of]
    (independent,) = [a for a in ARTICLES if a.independent_of]
    original = EXP.article(copy.copy_of)  # type: ignore[arg-type]
    assert translation.translation_of == independent.independent_of == original.ref

    assert original.site == "autodaily"
    assert original.published.isoformat().startswith("2024-04-26")
    assert "Renault Group" in original.title
    assert "Xiaomi" in original.title
    assert "Li Auto" in original.title
    original_text = body_text(demo_web, original)
    for fact in ["Luca de Meo", "Beijing", "Auto China", "Geely", "Dongfeng", "Horse"]:
        assert fact in original_text

    assert copy.site == "motorwire"
    assert copy.title == "Renault eyes Chinese tech partners as de Meo meets Xiaomi"
    copy_page = page(demo_web, copy)
    assert copy_page.xpath("//link[@rel='canonical']/@href") == [demo_web.url(copy.site, copy.path)]
    credit = copy_page.xpath("//p[@class='credit']")[0]
    assert credit.text_content().startswith("Originally published by Auto Industry Daily")
    assert credit.xpath(".//a/@href") == [demo_web.url(original.site, original.path)]
    copy_text = body_text(demo_web, copy)
    original_paragraphs = original_text.split("\n")
    copy_paragraphs = copy_text.split("\n")
    assert copy_paragraphs[0] not in original_text  # the added intro line
    assert original_paragraphs[-1] not in copy_text  # the trimmed last paragraph
    assert len(copy_paragraphs) == len(original_paragraphs)  # intro in, last paragraph out
    reworded = sum(p not in original_paragraphs for p in copy_paragraphs[1:])
    assert reworded >= 3  # lightly reworded, not byte-identical

    independent_text = body_text(demo_web, independent)
    assert independent.site == "motorwire"
    assert {"renault", "xiaomi"} <= words(independent_text)
    near = jaccard(shingles(original_text), shingles(copy_text))
    apart = jaccard(shingles(original_text), shingles(independent_text))
    assert near >= 0.5, near
    assert apart <= 0.05, apart

    assert translation.site == "autoitalia"
    assert translation.language == "it"
    assert translation.authors == ()  # a staff byline names nobody
    translation_page = page(demo_web, translation)
    firma = translation_page.xpath("string(//div[@class='firma'])")
    assert firma.startswith("Di Redazione · 26 aprile 2024")
    assert {"renault", "xiaomi", "geely", "dongfeng"} <= words(body_text(demo_web, translation))


def test_queries_match_exactly_the_article_bodies_containing_every_word(demo_web: LocalWeb) -> None:
    bodies = {a.ref: words(body_text(demo_web, a)) for a in ARTICLES}
    for query, expected in EXP.queries.items():
        terms = words(query)
        matching = {ref for ref, vocabulary in bodies.items() if terms <= vocabulary}
        assert matching == set(expected), query
