"""A small automotive news site served from memory on LocalWeb, logging who fetched what.

Shaped like a real trade-news site: a homepage that links its feed and its news section, a
robots.txt naming the sitemap, a sitemap with ``lastmod`` for every story, an RSS feed of the
latest ones, a paginated section listing, and article pages with JSON-LD ``NewsArticle``
metadata and a canonical link. Every story has its own seeded text, so the archive's
near-duplicate detection keeps them apart.

Each worker sends its name in the User-Agent; the log records (worker, path) for every request,
so a test can tell which worker fetched which URL. Article responses can be held back, so a
worker killed at the right moment surely has requests in flight.
"""

from __future__ import annotations

import json
import random
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Self

from newsarchive.webserver import LocalWeb, Response, Site

if TYPE_CHECKING:
    from newsarchive.webserver import Request

NAME = "gridwire"
ARTICLE_PREFIX = "/news/20"
PER_LISTING = 10
WORKER_UA = re.compile(r"worker=([\w.-]+)")
MAKERS = [
    "Toyota", "Volkswagen", "Hyundai", "Ford", "Stellantis", "BMW", "Renault", "Nissan",
    "Honda", "Mercedes-Benz", "Kia", "Volvo", "BYD", "Geely", "Tata", "Mazda", "Subaru",
]  # fmt: skip
TOPICS = [
    "battery plant", "recall", "quarterly results", "software update", "plant closure",
    "joint venture", "price cut", "hydrogen truck", "solid-state cells", "dealer network",
    "emissions probe", "chip supply", "robotaxi pilot", "tariff exposure", "union contract",
]  # fmt: skip
VOCABULARY = (
    "analysts expect margins production output suppliers demand pricing inventory factory "
    "workers capacity investment billion euros dollars quarter guidance regulators battery "
    "cells chemistry range charging software vehicles models platform hybrid electric diesel "
    "sales registrations market share dealers orders backlog delays logistics ports shipping "
    "steel aluminium lithium nickel cobalt contracts negotiations strike agreement tariffs "
    "exports imports subsidies incentives emissions targets fleet customers warranty defect "
    "airbag brakes steering inspection engineers testing validation launch schedule"
)
WORDS = VOCABULARY.split()
START = datetime(2024, 5, 2, 7, 30, tzinfo=UTC)


@dataclass(slots=True)
class Story:
    index: int
    slug: str
    title: str
    published: datetime
    paragraphs: list[str]

    @property
    def path(self) -> str:
        return f"/news/{self.published:%Y/%m}/{self.slug}"


def story(index: int) -> Story:
    rng = random.Random(index * 104729 + 3)
    maker = MAKERS[index % len(MAKERS)]
    topic = TOPICS[(index * 4) % len(TOPICS)]
    title = f"{maker} {topic}: the {index}th twist in a busy year"
    slug = f"{maker.lower()}-{topic.replace(' ', '-')}-{index}"
    paragraphs = []
    for p in range(5):
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 20))).capitalize() + "."
            for _ in range(5)
        ]
        lead = f"{maker} told reporters on day {index}.{p} that its {topic} plans" if not p else ""
        paragraphs.append((lead + " " + " ".join(sentences)).strip())
    return Story(index, slug, title, START + timedelta(hours=5 * index), paragraphs)


def article_html(s: Story, base: str) -> str:
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": s.title,
        "datePublished": s.published.isoformat(),
        "author": {"@type": "Person", "name": "Ines Okafor"},
        "publisher": {"@type": "Organization", "name": "Grid Wire"},
    }
    body = "\n".join(f"<p>{p}</p>" for p in s.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{s.title} | Grid Wire</title>
<link rel="canonical" href="{base}{s.path}">
<meta property="og:type" content="article">
<meta property="og:title" content="{s.title}">
<meta property="article:published_time" content="{s.published.isoformat()}">
<script type="application/ld+json">{json.dumps(ld)}</script></head>
<body><header><a href="/">Grid Wire</a> <nav><a href="/news/">News</a></nav></header>
<main><article><h1>{s.title}</h1><p class="byline">By Ines Okafor,
<time datetime="{s.published.isoformat()}">{s.published:%d %B %Y}</time></p>
{body}
</article></main><footer><a href="/news/">More news</a></footer></body></html>
"""


def listing_html(stories: list[Story], page: int, pages: int) -> str:
    items = "\n".join(f'<li><a href="{s.path}">{s.title}</a></li>' for s in stories)
    nxt = f'<a rel="next" href="/news/?page={page + 1}">Older</a>' if page < pages else ""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>News, page {page} | Grid Wire</title></head><body><header><a href="/">Grid Wire</a>
</header><main><h1>All news</h1><ul>{items}</ul><nav>{nxt}</nav></main></body></html>
"""


class NewsSite:
    """The site, its request log and its article delay; ``web`` is the running server."""

    def __init__(self, count: int = 30, article_delay: float = 0.0) -> None:
        self.stories = [story(i) for i in range(count)]
        self.article_delay = article_delay
        self.log: list[tuple[str, str]] = []  # (worker, path) of every GET
        self._lock = threading.Lock()
        self.web = LocalWeb([Site(NAME, None, self.serve)])

    def __enter__(self) -> Self:
        self.web.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.web.stop()

    @property
    def home(self) -> str:
        return self.web.url(NAME, "/")

    def article_urls(self) -> set[str]:
        return {self.web.url(NAME, s.path) for s in self.stories}

    def fetches(self, prefix: str = "") -> list[tuple[str, str]]:
        with self._lock:
            return [(w, p) for w, p in self.log if p.startswith(prefix)]

    def serve(self, request: Request) -> Response | None:
        match = WORKER_UA.search(request.headers.get("User-Agent", ""))
        with self._lock:
            self.log.append((match.group(1) if match else "?", request.path))
        base = self.web.base(NAME)
        path = request.path
        html = "text/html; charset=utf-8"
        newest = sorted(self.stories, key=lambda s: s.published, reverse=True)
        if path == "/robots.txt":
            text = f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap.xml\n"
            return Response(200, text.encode(), {"Content-Type": "text/plain"})
        if path == "/":
            teasers = "\n".join(f'<li><a href="{s.path}">{s.title}</a></li>' for s in newest[:5])
            page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Grid Wire</title>
<link rel="alternate" type="application/rss+xml" title="Latest" href="/feed.xml"></head>
<body><header><a href="/">Grid Wire</a> <nav><a href="/news/">News</a></nav></header>
<main><h2>Top stories</h2><ul>{teasers}</ul></main></body></html>
"""
            return Response(200, page.encode(), {"Content-Type": html})
        if path.startswith("/news/?page=") or path in ("/news/", "/news"):
            number = int(path.rpartition("=")[2]) if "page=" in path else 1
            pages = -(-len(newest) // PER_LISTING)
            chunk = newest[(number - 1) * PER_LISTING : number * PER_LISTING]
            if not chunk:
                return None
            body = listing_html(chunk, number, pages).encode()
            return Response(200, body, {"Content-Type": html})
        if path == "/sitemap.xml":
            urls = "\n".join(
                f"<url><loc>{base}{s.path}</loc><lastmod>{s.published.isoformat()}</lastmod></url>"
                for s in self.stories
            )
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}\n</urlset>\n'
            )
            return Response(200, xml.encode(), {"Content-Type": "application/xml"})
        if path == "/feed.xml":
            items = "\n".join(
                f"<item><title>{s.title}</title><link>{base}{s.path}</link>"
                f"<pubDate>{s.published:%a, %d %b %Y %H:%M:%S} GMT</pubDate></item>"
                for s in newest[:10]
            )
            xml = (
                '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
                f"<title>Grid Wire</title><link>{base}/</link><description>Latest</description>"
                f"\n{items}\n</channel></rss>\n"
            )
            return Response(200, xml.encode(), {"Content-Type": "application/rss+xml"})
        for s in self.stories:
            if path == s.path:
                body = article_html(s, base).encode()
                return Response(200, body, {"Content-Type": html}, delay=self.article_delay)
        return None  # LocalWeb answers 404
