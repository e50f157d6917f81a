"""One fetched page, parsed once: what the spider needs to go on, and the article if it is one.

The crawler's reactor thread must not parse HTML: parsing a page takes milliseconds, and every
download waits meanwhile. So the spider sends each HTML page to the extraction pool once, and
:func:`analyse_page` returns, from a single parse, everything the spider and the pipelines need:
the page-type verdict (:mod:`newsarchive.discovery.pagetype`), the canonical URL to go to
instead, the links to follow and the feeds the page announces, and for an article page the
:class:`~newsarchive.items.Article` with its fingerprint. A pure function, like ``extract``.
"""

from __future__ import annotations

import logging
import zlib
from copy import deepcopy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from newsarchive.discovery.feeds import feed_links
from newsarchive.discovery.pagetype import PageVerdict, classify_tree, url_kind
from newsarchive.discovery.urls import canonicalize_url, host_allowed, url_key
from newsarchive.extraction import extract, extract_tree, parse_html
from newsarchive.extraction.entities import article_entities
from newsarchive.extraction.fingerprint import Fingerprint, fingerprint
from newsarchive.extraction.similarity import event_keys

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from lxml.html import HtmlElement

    from newsarchive.contracts import UrlKind
    from newsarchive.items import Article, Listing

logger = logging.getLogger(__name__)

_NOT_LINKS = ("#", "mailto:", "javascript:", "tel:", "data:")
# Links that are a listing's headlines (the article rule's Listing.SECTION evidence).
HEADLINE_LINKS = "//h1//a/@href | //h2//a/@href | //h3//a/@href | //h4//a/@href"
# zlib level of stored pages: 3 compresses news HTML 4.6:1 in half the CPU time of level 6
# (5.1:1), measured on the evaluation corpus (219 kB a page: 1.6 ms against 3.2 ms).
HTML_COMPRESSION_LEVEL = 3


def compress_html(body: bytes) -> bytes:
    """A page's bytes as the archive stores them (``captures.html_gz``)."""
    return zlib.compress(body, HTML_COMPRESSION_LEVEL)


@dataclass(slots=True)
class PageAnalysis:
    """What one parse of a page tells the spider (and, for an article, the pipelines).

    ``redirect`` is the page's canonical URL when the crawler should fetch that instead (an
    article or a variant naming another address of an allowed host). ``links`` are the page's
    outlinks as ``(canonical URL, url_kind)`` in document order, given only for pages that are
    not articles; ``feeds`` the feeds it announces (``<link rel="alternate">``).
    """

    verdict: PageVerdict
    redirect: str | None = None
    links: list[tuple[str, UrlKind]] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    links_capped: int = 0
    # url_key of the links that are headlines (inside h1-h4): Listing.SECTION evidence
    headlines: set[str] = field(default_factory=set)
    # canonical link URL → the spelling the page wrote, where they differ (the fallback)
    spellings: dict[str, str] = field(default_factory=dict)
    article: Article | None = None
    fingerprint: Fingerprint | None = None
    extraction_error: str | None = None
    body_gz: bytes | None = None  # the page compressed for the archive (articles only)
    # the article's story keys (similarity.event_keys): the entity matching they need is CPU
    # work the archive's single writer would otherwise do for every new article
    story_keys: dict[str, float] | None = None


def analyse_page(
    html: bytes,
    url: str,
    fetched_at: datetime | None = None,
    *,
    encoding: str | None = None,
    lang_hint: str | None = None,
    hosts: tuple[str, ...] = (),
    max_links: int = 6000,
    extractor: Callable[..., Article | None] | None = None,
    listed: Listing | None = None,
    follow_canonical: bool = True,
) -> PageAnalysis:
    """Analyse the page at ``url`` (pure). ``hosts`` are the source's hosts (a canonical URL
    elsewhere is not followed); ``extractor`` replaces :func:`newsarchive.extraction.extract`
    (same signature: it gets the raw page and parses it itself). ``listed`` is where the
    publisher listed the URL (the article rule's evidence); ``follow_canonical`` False keeps a
    page whose canonical spelling did not answer."""
    tree = parse_html(html, encoding)
    if tree is None:
        return PageAnalysis(PageVerdict(False, -10.0, ["empty"]))
    base = _base_url(tree, url)
    feeds = feed_links(tree, base)
    canonical = _canonical(tree, base)
    verdict = classify_tree(deepcopy(tree), url, listed=listed)
    redirectable = verdict.is_article or "variant_of_canonical" in verdict.reasons
    if (
        redirectable
        and follow_canonical
        and canonical
        and url_key(canonical) != url_key(url)
        and urlsplit(canonical).path not in ("", "/")
        and host_allowed(canonical, hosts)
    ):
        return PageAnalysis(verdict, redirect=canonical, feeds=feeds)
    if not verdict.is_article:
        hrefs = [str(h) for h in tree.xpath("//a/@href | //link[@rel='next']/@href")]
        links, spellings = _links(hrefs[:max_links], base)
        return PageAnalysis(
            verdict,
            links=links,
            feeds=feeds,
            links_capped=max(0, len(hrefs) - max_links),
            headlines={
                url_key(urljoin(base, str(h).strip()))
                for h in tree.xpath(HEADLINE_LINKS)
                if str(h).strip() and not str(h).strip().startswith(_NOT_LINKS)
            },
            spellings=spellings,
        )
    analysis = PageAnalysis(verdict, feeds=feeds, body_gz=compress_html(html))
    try:
        if extractor is None or extractor is extract:
            analysis.article = extract_tree(tree, url, fetched_at, lang_hint=lang_hint, copy=False)
        else:
            analysis.article = extractor(
                html, url, fetched_at, encoding=encoding, lang_hint=lang_hint
            )
    except Exception as exc:
        # a bug in extraction loses this page's article, never the verdict or the crawl
        logger.warning("extraction crashed on %s", url, exc_info=True)
        analysis.extraction_error = f"crashed: {type(exc).__name__}: {exc}"
        return analysis
    article = analysis.article
    if article is not None and article.body.strip():
        # one scan of the title and body for the article's companies (extract_tree), the
        # fingerprint's entities and the story keys' (cached between them)
        found = article_entities(article.title, article.body)
        analysis.fingerprint = fingerprint(article.body, body_entities=found.body)
        analysis.story_keys = event_keys(
            article.title, article.body, article.lang, text_entities=found.text
        )
    return analysis


def _base_url(tree: HtmlElement, url: str) -> str:
    for el in tree.iter("base"):
        href = str(el.get("href") or "").strip()
        if href:
            return urljoin(url, str(href))
    return url


def _canonical(tree: HtmlElement, base: str) -> str | None:
    for href in tree.xpath('//link[@rel="canonical"]/@href'):
        return canonicalize_url(urljoin(base, str(href).strip()))
    return None


def _links(hrefs: list[str], base: str) -> tuple[list[tuple[str, UrlKind]], dict[str, str]]:
    links = []
    spellings: dict[str, str] = {}
    for raw in hrefs:
        href = raw.strip()
        if not href or href.startswith(_NOT_LINKS):
            continue
        written = urljoin(base, href)
        url = canonicalize_url(written)
        links.append((url, url_kind(url)))
        if written != url:
            spellings.setdefault(url, written)
    return links, spellings
