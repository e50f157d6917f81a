"""Bundled sample automotive news web for `newsarchive demo`.

Three small sites with different templates live under ``site/<name>/`` as static files:
``autodaily`` (the main English news site, with JSON-LD, sections, pagination, tags, a feed and
a sitemap), ``motorwire`` (a second English site that republishes one story and writes its own
piece about the same event) and ``autoitalia`` (Italian, with a translated republication). They
are served offline by :class:`~newsarchive.demo.server.LocalWeb`, so a crawl can be demonstrated
and tested without the internet. ``site/expected.json`` is the ground truth a crawl of them must
reproduce; :func:`load_expected` reads it into typed records.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from newsarchive.demo.server import LocalWeb, Site
from newsarchive.discovery.sources import SourceConfig

logger = logging.getLogger(__name__)

SITE_ROOT: Path = Path(__file__).resolve().parent / "site"
EXPECTED: Path = SITE_ROOT / "expected.json"


def demo_sites() -> list[Site]:
    """One site per directory, so adding a site is adding a directory."""
    return [Site(path.name, path) for path in sorted(SITE_ROOT.iterdir()) if path.is_dir()]


def demo_web() -> LocalWeb:
    """The demo web, not yet started (ports are bound by ``start()`` or ``with``)."""
    return LocalWeb(demo_sites())


@dataclass(frozen=True, slots=True)
class PageRef:
    site: str
    path: str


@dataclass(frozen=True, slots=True)
class ExpectedArticle:
    """One article page and what a correct crawl must recover from it.

    ``authors`` are the people the byline names; a staff byline ("Di Redazione") names nobody,
    so it is kept in ``byline`` only.

    ``copy_of`` marks a near-verbatim republication (a duplicate of that page),
    ``translation_of`` a translated republication, ``independent_of`` a separately written
    article about the same event, which must not be treated as a duplicate.
    """

    site: str
    path: str
    title: str
    published: datetime
    modified: datetime | None
    authors: tuple[str, ...]
    byline: str
    language: str
    section: str
    tags: tuple[str, ...]
    words: int
    snippets_with: tuple[str, ...]
    snippets_without: tuple[str, ...]
    copy_of: PageRef | None = None
    translation_of: PageRef | None = None
    independent_of: PageRef | None = None

    @property
    def ref(self) -> PageRef:
        return PageRef(self.site, self.path)


@dataclass(frozen=True, slots=True)
class ExpectedSite:
    name: str
    title: str
    language: str
    home: str
    robots: str
    sitemaps: tuple[str, ...]
    feeds: tuple[str, ...]
    articles: tuple[ExpectedArticle, ...]
    non_articles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DemoExpectation:
    sites: dict[str, ExpectedSite]
    queries: dict[str, tuple[PageRef, ...]]

    def articles(self) -> list[ExpectedArticle]:
        return [article for site in self.sites.values() for article in site.articles]

    def article(self, ref: PageRef) -> ExpectedArticle:
        for article in self.sites[ref.site].articles:
            if article.path == ref.path:
                return article
        raise KeyError(ref)


def _ref(raw: dict[str, str] | None) -> PageRef | None:
    return None if raw is None else PageRef(raw["site"], raw["path"])


def _article(site: str, raw: dict[str, Any]) -> ExpectedArticle:
    modified = raw.get("modified")
    return ExpectedArticle(
        site=site,
        path=raw["path"],
        title=raw["title"],
        published=datetime.fromisoformat(raw["published"]),
        modified=datetime.fromisoformat(modified) if modified else None,
        authors=tuple(raw["authors"]),
        byline=raw["byline"],
        language=raw["language"],
        section=raw["section"],
        tags=tuple(raw["tags"]),
        words=raw["words"],
        snippets_with=tuple(raw["snippets"]["with"]),
        snippets_without=tuple(raw["snippets"]["without"]),
        copy_of=_ref(raw.get("copy_of")),
        translation_of=_ref(raw.get("translation_of")),
        independent_of=_ref(raw.get("independent_of")),
    )


def load_expected(path: Path = EXPECTED) -> DemoExpectation:
    """Read the ground truth once into records, so tests don't pass raw dicts around."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    sites = {
        name: ExpectedSite(
            name=name,
            title=site["name"],
            language=site["language"],
            home=site["home"],
            robots=site["robots"],
            sitemaps=tuple(site["sitemaps"]),
            feeds=tuple(site["feeds"]),
            articles=tuple(_article(name, a) for a in site["articles"]),
            non_articles=tuple(site["non_articles"]),
        )
        for name, site in raw["sites"].items()
    }
    queries = {
        query: tuple(PageRef(r["site"], r["path"]) for r in refs)
        for query, refs in raw["queries"].items()
    }
    return DemoExpectation(sites=sites, queries=queries)


def demo_sources(web: LocalWeb) -> list[SourceConfig]:
    """The demo sites as crawlable sources, at the addresses ``web`` (started) serves them on."""
    return [
        SourceConfig(
            name=site.name,
            display_name=site.title,
            homepage=web.url(site.name),
            language=site.language,
        )
        for site in load_expected().sites.values()
    ]
