"""Data passed between the spiders, the extractor, the pipelines and the archive.

Plain dataclasses, so that the pure extraction function and the archive layer do not depend on
Scrapy, and so that items pickle cleanly into the extraction process pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from newsarchive.contracts import DropReason, Via


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

    @property
    def word_count(self) -> int:
        return len(self.body.split())


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
    lastmod: datetime | None = None
    # The source's declared language: a hint for date parsing when the page declares none.
    source_language: str | None = None
    article: Article | None = None
    extraction_error: str | None = None
    drop_reason: DropReason | None = None
    # newsarchive.extraction.fingerprint.Fingerprint of the article body, computed with the
    # article (or by the dedupe stage for pages extracted elsewhere).
    fingerprint: Any = None
    # The spider's page analysis already extracted it (article, error, fingerprint are final).
    extracted: bool = False
    # ``body`` compressed for the archive (zlib), when the extraction worker already did it.
    body_gz: bytes | None = None
