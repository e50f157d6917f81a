"""Sitemaps (urlset and sitemap index, Google News, gzipped) as a pure parser over bytes.

Like Scrapy's ``scrapy/utils/sitemap.py``: ``Sitemap(body)`` knows its kind at once and yields
its entries lazily, clearing each ``<url>``/``<sitemap>`` element once read, so a 50,000-entry
sitemap never sits in memory as a tree. Hostile input (entity bombs, external entities, cut
documents, gzip bombs) is handled by :mod:`newsarchive.discovery.xmldoc`. Which entries become
requests (date window, URL kinds, nesting, index loops) is the spider's decision.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from newsarchive.discovery.xmldoc import XmlDocument, local_name, release
from newsarchive.extraction.dates import as_utc, parse_structured

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from lxml import etree

logger = logging.getLogger(__name__)

URLSET = "urlset"
SITEMAP_INDEX = "sitemapindex"
KINDS = (URLSET, SITEMAP_INDEX)
# Where sites put sitemaps when robots.txt names none.
COMMON_PATHS = (
    "/sitemap.xml",
    "/sitemap_index.xml",
    "/news-sitemap.xml",
    "/sitemap-news.xml",
    "/sitemap_news.xml",
)
_FIELDS = ("loc", "lastmod", "publication_date")


def parse_date(value: str | None) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 or RFC 822 date, or None for garbage."""
    return as_utc(parse_structured(value))


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    """One ``<url>`` (or ``<sitemap>``) entry: its location ('' if absent) and its date.

    ``date`` is the Google News ``publication_date`` when given, else ``lastmod``.
    """

    loc: str
    date: datetime | None


class Sitemap:
    """A sitemap body: ``kind`` is ``"urlset"``, ``"sitemapindex"`` or None (not a sitemap).

    Iterating yields at most ``max_entries`` entries (0: no limit), then sets ``capped``;
    ``error`` (after iterating) is the first XML error recovery went past.
    """

    def __init__(self, body: bytes, *, max_size: int = 0, max_entries: int = 0) -> None:
        self._doc = XmlDocument(body, max_size=max_size)
        self.kind: str | None = self._doc.root if self._doc.root in KINDS else None
        self.max_entries = max_entries
        self.capped = False

    @property
    def gzipped(self) -> bool:
        return self._doc.gzipped

    @property
    def gzip_error(self) -> str | None:
        return self._doc.gzip_error

    @property
    def error(self) -> str | None:
        return self._doc.error

    def retained(self) -> int:
        """Elements held in memory right now (entries are freed once read)."""
        return self._doc.retained()

    def __iter__(self) -> Iterator[SitemapEntry]:
        if self.kind is None:
            self._doc.drain()  # read to the end, so ``error`` covers the whole body
            return
        depth = 0
        count = 0
        for event, element in self._doc.events():
            if event == "start":
                depth += 1
                continue
            depth -= 1
            if depth != 0 or local_name(element.tag) not in ("url", "sitemap"):
                continue  # entries are the root's children; their fields are read at their end
            count += 1
            if self.max_entries and count > self.max_entries:
                self.capped = True
                return
            yield _entry(element)
            release(element)
        # Parsing stopped inside an entry: keep what it read, as a recovering tree parse does.
        cut = self._doc.unfinished[:1]
        if cut and local_name(cut[0].tag) in ("url", "sitemap"):
            if self.max_entries and count >= self.max_entries:
                self.capped = True
                return
            yield _entry(cut[0])


def _entry(element: etree._Element) -> SitemapEntry:
    fields: dict[str, str] = {}
    for node in element.iter():
        name = local_name(node.tag)
        if name in _FIELDS and name not in fields:
            fields[name] = (node.text or "").strip()
    date = parse_date(fields.get("publication_date")) or parse_date(fields.get("lastmod"))
    return SitemapEntry(fields.get("loc", ""), date)


def common_sitemap_urls(base: str) -> list[str]:
    """The common sitemap locations on ``base``'s site, to probe when none is listed."""
    return [urljoin(base, path) for path in COMMON_PATHS]
