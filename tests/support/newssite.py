"""A small automotive news site, written to a directory or served from memory on LocalWeb.

Shaped like a real trade-news site: a homepage that links its feed and its news section, a
robots.txt naming the sitemap, a sitemap with ``lastmod`` for every story, an RSS feed of the
latest ones, a section listing, and article pages with JSON-LD ``NewsArticle`` metadata and a
canonical link. Every story has its own seeded text, so the archive's near-duplicate detection
keeps them apart, and the same index always gives the same story, so a site can grow between
two crawls.

``write_site`` writes the site as static files (``{{site:NAME}}`` placeholders stand for the
base URL), for crawls that must see a site change on disk. ``NewsSite`` serves it from memory
with a paginated listing, logs who fetched what (a crawler names itself in the User-Agent as
``worker=NAME``) and can hold article responses back, so a crawler killed at the right moment
surely has requests in flight.
"""

from __future__ import annotations

import json
import random
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Self

from newsarchive.demo.server import LocalWeb, Response, Site

if TYPE_CHECKING:
    from pathlib import Path

    from newsarchive.demo.server import Request

PUBLISHER = "Motor Ledger"
AUTHOR = "Jane Miller"
ARTICLE_PREFIX = "/news/20"  # every article path starts so; no other page's does
MAKERS = [
    "Toyota", "Volkswagen", "Hyundai", "Ford", "Stellantis", "BMW", "Renault", "Nissan",
    "Honda", "Mercedes-Benz", "Kia", "Volvo", "BYD", "Geely", "Tata", "Mazda", "Subaru",
    "Suzuki", "Rivian", "Lucid", "Polestar", "Skoda", "Seat", "Audi",
]  # fmt: skip
TOPICS = [
    "battery plant", "recall", "quarterly results", "software update", "plant closure",
    "joint venture", "price cut", "hydrogen truck", "solid-state cells", "dealer network",
    "emissions probe", "chip supply", "robotaxi pilot", "tariff exposure", "union contract",
    "charging network", "platform sharing", "lidar supplier", "export record", "steel costs",
]  # fmt: skip
VOCABULARY = (
    "analysts expect margins production output suppliers demand pricing inventory factory "
    "workers capacity investment billion euros dollars quarter guidance regulators battery "
    "cells chemistry range charging software vehicles models platform hybrid electric diesel "
    "petrol sales registrations market share dealers orders backlog delays logistics ports "
    "shipping steel aluminium lithium nickel cobalt contracts negotiations strike agreement "
    "tariffs exports imports subsidies incentives emissions targets fleet customers warranty "
    "recall defect airbag brakes steering inspection engineers testing validation launch "
    "schedule timeline executives board strategy restructuring savings jobs shifts line "
    "assembly stamping paint welding robots automation plant region government ministry"
)
WORDS = VOCABULARY.split()
START = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
HTML = "text/html; charset=utf-8"


@dataclass(slots=True)
class Story:
    index: int
    slug: str
    title: str
    published: datetime
    paragraphs: list[str]

    @property
    def path(self) -> str:
        return f"/news/{self.published:%Y/%m}/{self.slug}.html"


def story(index: int) -> Story:
    rng = random.Random(index * 7919 + 17)
    maker = MAKERS[index % len(MAKERS)]
    topic = TOPICS[(index * 7) % len(TOPICS)]
    title = f"{maker} {topic}: what story {index} means for the industry"
    slug = f"{maker.lower().replace(' ', '-')}-{topic.replace(' ', '-')}-{index}"
    paragraphs = []
    for p in range(6):
        sentences = []
        for _ in range(5):
            words = [rng.choice(WORDS) for _ in range(rng.randint(12, 20))]
            sentences.append(" ".join(words).capitalize() + ".")
        lead = f"{maker} said on day {index}-{p} that its {topic} plans" if p == 0 else ""
        paragraphs.append((lead + " " + " ".join(sentences)).strip())
    return Story(index, slug, title, START + timedelta(hours=7 * index), paragraphs)


def newest_first(stories: list[Story]) -> list[Story]:
    return sorted(stories, key=lambda s: s.published, reverse=True)


def article_html(s: Story, base: str) -> str:
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": s.title,
        "datePublished": s.published.isoformat(),
        "author": {"@type": "Person", "name": AUTHOR},
        "publisher": {"@type": "Organization", "name": PUBLISHER},
    }
    body = "\n".join(f"<p>{p}</p>" for p in s.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{s.title} | {PUBLISHER}</title>
<link rel="canonical" href="{base}{s.path}">
<meta property="og:type" content="article">
<meta property="og:title" content="{s.title}">
<meta property="article:published_time" content="{s.published.isoformat()}">
<script type="application/ld+json">{json.dumps(ld)}</script></head>
<body><header><a href="/">{PUBLISHER}</a> <nav><a href="/news/">News</a></nav></header>
<main><article><h1>{s.title}</h1><p class="byline">By {AUTHOR},
<time datetime="{s.published.isoformat()}">{s.published:%d %B %Y}</time></p>
{body}
</article></main><footer><a href="/news/">More news</a></footer></body></html>
"""


def home_html(stories: list[Story]) -> str:
    teasers = "\n".join(
        f'<li><a href="{s.path}">{s.title}</a><p>Teaser of story {s.index}.</p></li>'
        for s in newest_first(stories)[:5]
    )
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{PUBLISHER}</title>
<link rel="alternate" type="application/rss+xml" title="Latest" href="/feed.xml"></head>
<body><header><a href="/">{PUBLISHER}</a> <nav><a href="/news/">News</a></nav></header>
<main><h2>Top stories</h2><ul>{teasers}</ul></main></body></html>
"""


def listing_html(stories: list[Story], page: int = 1, pages: int = 1) -> str:
    """Page ``page`` of ``pages`` of the news section, listing ``stories``."""
    items = "\n".join(f'<li><a href="{s.path}">{s.title}</a></li>' for s in stories)
    nxt = f'<a rel="next" href="/news/?page={page + 1}">Older</a>' if page < pages else ""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>News, page {page} | {PUBLISHER}</title></head><body><header><a href="/">{PUBLISHER}</a>
</header><main><h1>All news</h1><ul>{items}</ul><nav>{nxt}</nav></main></body></html>
"""


def robots_txt(base: str) -> str:
    return f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap.xml\n"


def sitemap_xml(stories: list[Story], base: str) -> str:
    urls = "\n".join(
        f"<url><loc>{base}{s.path}</loc><lastmod>{s.published.isoformat()}</lastmod></url>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}\n</urlset>\n'
    )


def feed_xml(stories: list[Story], base: str) -> str:
    """An RSS feed of the ten newest stories."""
    items = "\n".join(
        f"<item><title>{s.title}</title><link>{base}{s.path}</link>"
        f"<pubDate>{s.published:%a, %d %b %Y %H:%M:%S} GMT</pubDate></item>"
        for s in newest_first(stories)[:10]
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{PUBLISHER}</title><link>{base}/</link><description>Latest</description>\n"
        f"{items}\n</channel></rss>\n"
    )


def write_site(root: Path, count: int, name: str = "ledger") -> list[Story]:
    """Write a site of ``count`` stories to ``root`` for LocalWeb site ``name``.

    Articles already on disk are kept as they are (their ETags stay valid); the homepage,
    listing, robots.txt, sitemap and feed are rewritten, so calling it again with a larger
    ``count`` publishes new stories.
    """
    stories = [story(i) for i in range(count)]
    base = f"{{{{site:{name}}}}}"
    root.mkdir(parents=True, exist_ok=True)
    for s in stories:
        target = root / s.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_text(article_html(s, base), encoding="utf-8")
    (root / "news").mkdir(exist_ok=True)
    documents = {
        "index.html": home_html(stories),
        "news/index.html": listing_html(newest_first(stories)),
        "robots.txt": robots_txt(base),
        "sitemap.xml": sitemap_xml(stories, base),
        "feed.xml": feed_xml(stories, base),
    }
    for path, text in documents.items():
        (root / path).write_text(text, encoding="utf-8")
    return stories


WORKER_UA = re.compile(r"worker=([\w.-]+)")


class NewsSite:
    """The site served from memory, its request log and its article delay.

    ``web`` is the running LocalWeb; the listing is paginated ``per_listing`` stories a page.
    """

    name = "gridwire"

    def __init__(self, count: int = 30, article_delay: float = 0.0, per_listing: int = 10) -> None:
        self.stories = [story(i) for i in range(count)]
        self.article_delay = article_delay
        self.per_listing = per_listing
        self.log: list[tuple[str, str]] = []  # (worker, path) of every GET
        self._lock = threading.Lock()
        self.web = LocalWeb([Site(self.name, None, self.serve)])

    def __enter__(self) -> Self:
        self.web.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.web.stop()

    @property
    def home(self) -> str:
        return self.web.url(self.name, "/")

    def article_urls(self) -> set[str]:
        return {self.web.url(self.name, s.path) for s in self.stories}

    def fetches(self, prefix: str = "") -> list[tuple[str, str]]:
        with self._lock:
            return [(w, p) for w, p in self.log if p.startswith(prefix)]

    def serve(self, request: Request) -> Response | None:
        match = WORKER_UA.search(request.headers.get("User-Agent", ""))
        with self._lock:
            self.log.append((match.group(1) if match else "?", request.path))
        base = self.web.base(self.name)
        path = request.path
        if path == "/robots.txt":
            return Response(200, robots_txt(base).encode(), {"Content-Type": "text/plain"})
        if path == "/":
            return Response(200, home_html(self.stories).encode(), {"Content-Type": HTML})
        if path.startswith("/news/?page=") or path in ("/news/", "/news"):
            return self._listing(int(path.rpartition("=")[2]) if "page=" in path else 1)
        if path == "/sitemap.xml":
            xml = sitemap_xml(self.stories, base).encode()
            return Response(200, xml, {"Content-Type": "application/xml"})
        if path == "/feed.xml":
            xml = feed_xml(self.stories, base).encode()
            return Response(200, xml, {"Content-Type": "application/rss+xml"})
        for s in self.stories:
            if path == s.path:
                body = article_html(s, base).encode()
                return Response(200, body, {"Content-Type": HTML}, delay=self.article_delay)
        return None  # LocalWeb answers 404

    def _listing(self, number: int) -> Response | None:
        newest = newest_first(self.stories)
        pages = -(-len(newest) // self.per_listing)
        chunk = newest[(number - 1) * self.per_listing : number * self.per_listing]
        if not chunk:
            return None
        body = listing_html(chunk, number, pages).encode()
        return Response(200, body, {"Content-Type": HTML})
