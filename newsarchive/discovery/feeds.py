"""Feeds (RSS, Atom, RDF, JSON Feed) and feed autodiscovery, as pure functions over bytes.

Like trafilatura's ``feeds.py``: parsing is kept apart from fetching. :func:`parse_feed` turns a
body into its entries (link and date) or None when the body is no feed at all (an HTML error
page, an unknown format); XML feeds are read incrementally with the hostile-input protections of
:mod:`newsarchive.discovery.xmldoc`. :func:`feed_links` finds the ``<link rel="alternate">``
feeds a page announces.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from lxml import etree, html

from newsarchive.discovery.sitemaps import parse_date
from newsarchive.discovery.xmldoc import XmlDocument, local_name, release

if TYPE_CHECKING:
    from datetime import datetime

logger = logging.getLogger(__name__)

# Where sites put feeds when their pages announce none.
COMMON_PATHS = ("/feed", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml", "/index.rdf")
# Substrings of a <link rel="alternate" type="…"> that mark a feed.
FEED_TYPES = ("rss", "atom", "rdf", "feed+json")
XML_ROOTS = ("rss", "feed", "rdf")
RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
_DATE_TAGS = ("pubdate", "published", "updated", "date", "issued", "modified")
# The first of these an entry has is its date.
_DATE_ORDER = ("pubdate", "published", "date", "issued", "updated", "modified")


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item or entry: its link (joined to the feed's URL; None if it has none) and date."""

    link: str | None
    date: datetime | None


@dataclass(slots=True)
class Feed:
    """A parsed feed. ``error`` is the first XML error recovery went past (None for JSON)."""

    kind: str  # "rss", "feed" (Atom), "rdf" or "json"
    entries: list[FeedEntry] = field(default_factory=list)
    gzipped: bool = False
    error: str | None = None


@dataclass(slots=True)
class NotAFeed:
    """A body that is no feed; for an XML body, what the reader saw (for logs and stats)."""

    gzipped: bool = False
    gzip_error: str | None = None
    error: str | None = None


def parse_feed(body: bytes, base_url: str, *, max_size: int = 0) -> Feed | NotAFeed:
    """The entries of an RSS, Atom, RDF or JSON feed body, or :class:`NotAFeed`."""
    stripped = body.lstrip()
    if stripped[:1] == b"{":
        return _json_feed(stripped, base_url)
    doc = XmlDocument(body, max_size=max_size)
    if doc.root not in XML_ROOTS:
        doc.drain()
        return NotAFeed(doc.gzipped, doc.gzip_error, doc.error)
    feed = Feed(doc.root, gzipped=doc.gzipped)
    for event, element in doc.events():
        if event != "end" or local_name(element.tag) not in ("item", "entry"):
            continue
        feed.entries.append(_entry(element, base_url))
        release(element)
    # Parsing stopped inside an item: keep what it read, as a recovering tree parse does.
    feed.entries.extend(
        _entry(element, base_url)
        for element in doc.unfinished
        if local_name(element.tag) in ("item", "entry")
    )
    feed.error = doc.error
    return feed


def _entry(item: etree._Element, base_url: str) -> FeedEntry:
    link: str | None = None
    dates: dict[str, str] = {}
    guid: str | None = None
    for node in item:
        name = local_name(node.tag)
        if name == "link":
            href = node.get("href")
            rel = node.get("rel", "alternate")
            if href and rel == "alternate":
                link = link or href
            elif node.text and node.text.strip():
                link = link or node.text.strip()
        elif name == "guid" and node.get("isPermaLink", "true") != "false":
            guid = guid if guid is not None else (node.text or "").strip()
        elif name in _DATE_TAGS:
            dates.setdefault(name, (node.text or "").strip())
    if link is None and item.get(RDF_ABOUT):
        link = item.get(RDF_ABOUT)
    link = link or guid or None
    date = None
    for key in _DATE_ORDER:
        date = parse_date(dates.get(key))
        if date:
            break
    return FeedEntry(urljoin(base_url, link) if link else None, date)


def _json_feed(body: bytes, base_url: str) -> Feed | NotAFeed:
    try:
        data = json.loads(body)
    except ValueError:
        return NotAFeed()
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return NotAFeed()
    entries = []
    for item in items:
        if isinstance(item, dict):
            url = item.get("url")
            link = urljoin(base_url, url) if url else None
            entries.append(FeedEntry(link, parse_date(item.get("date_published"))))
    return Feed("json", entries)


def feed_links(page: bytes | str | etree._Element, base_url: str) -> list[str]:
    """The feeds a page announces (``<link rel="alternate" type="…rss…">`` etc.), joined to
    ``base_url`` (the page's URL, or its ``<base href>``), in page order."""
    if isinstance(page, etree._Element):
        root: etree._Element | None = page
    else:
        # As parsel (Scrapy's selectors) reads a page: stripped, without NULs, deep trees allowed.
        if isinstance(page, str):
            data = page.strip().replace("\x00", "").encode("utf-8")
            encoding: str | None = "utf-8"
        else:
            data, encoding = page.strip().replace(b"\x00", b""), None
        if not data:
            return []
        parser = html.HTMLParser(recover=True, encoding=encoding, huge_tree=True)
        root = etree.fromstring(data, parser=parser)
    if root is None:
        return []
    found = []
    for link in root.xpath('//link[@rel="alternate"][@href]'):
        ftype = (link.get("type") or "").lower()
        if any(t in ftype for t in FEED_TYPES):
            found.append(urljoin(base_url, link.get("href")))
    return found


def common_feed_urls(base: str) -> list[str]:
    """The common feed locations on ``base``'s site, to probe when no page announces one."""
    return [urljoin(base, path) for path in COMMON_PATHS]
