"""Data passed between the spiders, the extractor, the pipelines and the archive.

Plain dataclasses, so that the pure extraction function and the archive layer do not depend on
Scrapy, and so that items pickle cleanly into the extraction process pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from newsarchive.contracts import DropReason, Via


class Listing(StrEnum):
    """Where the publisher listed a URL before we fetched it: its own statement that the page
    is a news article (a news sitemap, a feed) or only that it exists (a plain sitemap)."""

    NEWS_SITEMAP = "news_sitemap"
    FEED = "feed"
    SITEMAP = "sitemap"
    SECTION = "section"  # a headline link on one of the site's listing pages


class CreditKind(StrEnum):
    """How a page credits another publisher (see :mod:`newsarchive.extraction.attribution`)."""

    LINE = "line"  # an attribution line: "Originally published by …", "Source: …", "(Reuters) —"
    CANONICAL = "canonical"  # rel=canonical pointing at another site
    BASED_ON = "based_on"  # JSON-LD isBasedOn / isBasedOnUrl
    SOURCE_ORG = "source_org"  # JSON-LD sourceOrganization


@dataclass(slots=True, frozen=True)
class Credit:
    """One credit a page gives to another publisher: a URL off the page's site, a name, or both."""

    kind: CreditKind
    url: str | None = None
    name: str | None = None


@dataclass(slots=True)
class TopicTag:
    """A topic an article is about, with the evidence: the rule terms that matched and the score
    they added up to (see ``newsarchive/data/topics.toml``)."""

    topic: str
    score: int
    terms: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Article:
    """What extraction recovers from one article page.

    Datetimes are timezone-aware and keep the offset the page gave (the archive stores them in UTC
    and remembers the offset). ``date_source`` says where ``published`` came from (``jsonld``,
    ``meta``, ``htmldate``, ``byline``, ``url``…) because only a minority of pages state it
    exactly; ``date_flags`` marks dates we refuse to trust (``future``, ``before_1990``).
    """

    url: str
    canonical_url: str
    title: str | None
    body: str
    published: datetime | None = None
    modified: datetime | None = None
    date_source: str | None = None
    date_flags: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    organisations: list[str] = field(default_factory=list)
    lang: str | None = None
    description: str | None = None
    image: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    site_name: str | None = None
    companies: list[str] = field(default_factory=list)
    topics: list[TopicTag] = field(default_factory=list)
    # Who the page says it copies; the archive uses it to tell a copy from its original.
    credits: list[Credit] = field(default_factory=list)

    @property
    def word_count(self) -> int:
        """Length in word equivalents: words, or characters / 2 in Chinese, Japanese, Thai."""
        from newsarchive.extraction.textlength import word_equivalents

        return word_equivalents(self.body)


@dataclass(slots=True)
class FetchedPage:
    """One fetched page as the spider saw it, before extraction.

    ``body`` is the raw (possibly non-UTF-8) response body; ``encoding`` is the charset the HTTP
    header declared, if any. The pipelines fill ``article`` / ``extraction_error``.
    """

    url: str
    requested_url: str
    status: int
    body: bytes
    fetched_at: datetime
    source: str
    headers: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    discovered_via: Via | None = None
    # The publisher's listing of this URL, if any (the article rule trusts news sitemaps, feeds).
    listed: Listing | None = None
    lastmod: datetime | None = None
    # The source's declared language: a hint for date parsing when the page declares none.
    source_language: str | None = None
    article: Article | None = None
    extraction_error: str | None = None
    drop_reason: DropReason | None = None
    # Why the page is not an article or was dropped: the article rule's evidence, or the
    # validation rule that refused it. Kept with the capture, listed by ``pages --not-articles``.
    reason: str | None = None
    # The page was not an article and had links to follow (a listing): not settled, it is
    # fetched again whenever discovery reaches it.
    followed_links: bool = False
    # newsarchive.extraction.fingerprint.Fingerprint of the article body, computed with the
    # article (or by the dedupe stage for pages extracted elsewhere).
    fingerprint: Any = None
    # The spider's page analysis already extracted it (article, error, fingerprint are final).
    extracted: bool = False
    # ``body`` compressed for the archive (zlib), when the extraction worker already did it.
    body_gz: bytes | None = None
    # The article's story keys (newsarchive.extraction.similarity.event_keys), when the
    # extraction worker already computed them; the archive computes them otherwise.
    story_keys: dict[str, float] | None = None
