"""robots.txt as discovery data: its ``Sitemap:`` lines, and the key under which a site's are kept.

Whether a URL may be fetched is Scrapy's robots middleware's job (Protego, RFC 9309); this
module only reads what robots.txt tells discovery. Pure functions over bytes or text.
"""

from __future__ import annotations

import logging
from urllib.parse import urljoin, urlsplit

logger = logging.getLogger(__name__)


def robots_url(homepage: str) -> str:
    """The robots.txt of ``homepage``'s site."""
    return urljoin(homepage, "/robots.txt")


def site_key(url: str) -> str:
    """The key a site's robots.txt answers for: the URL's host and port, lower-case."""
    return urlsplit(url).netloc.lower()


# Sitemap: lines read from one robots.txt; a real site lists a handful, an attacker millions.
MAX_ROBOTS_SITEMAPS = 50


def sitemap_urls(robots: bytes | str, limit: int = MAX_ROBOTS_SITEMAPS) -> list[str]:
    """The first ``limit`` distinct non-empty ``Sitemap:`` values of a robots.txt body, in
    file order.

    Bytes are read as UTF-8 with replacement (RFC 9309: robots.txt is UTF-8).
    """
    text = robots.decode("utf-8", "replace") if isinstance(robots, bytes) else robots
    found: dict[str, None] = {}
    for line in text.splitlines():
        if line.lower().startswith("sitemap:"):
            value = line.split(":", 1)[1].strip()
            if value:
                found[value] = None
                if len(found) >= limit:
                    logger.info("robots.txt lists more than %d sitemaps: the rest ignored", limit)
                    break
    return list(found)
