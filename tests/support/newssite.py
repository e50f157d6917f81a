"""The one synthetic news-site generator of the tests: prose, pages, and a whole site.

Seeded prose (:func:`prose`), article, listing and bare pages, LocalWeb responses, and a small
automotive news site built from them, written to a directory or served from memory on LocalWeb.

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
from html import escape
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
# Prose is drawn from this vocabulary by a seeded generator: every test article is distinct
# text (near-duplicate detection never merges two of them) yet stable from run to run.
VOCABULARY = (
    "analysts expect margins production output suppliers demand pricing inventory factory "
    "workers capacity investment billion euros dollars quarter guidance regulators battery "
    "cells chemistry range charging software vehicles models platform hybrid electric diesel "
    "petrol sales registrations market share dealers orders backlog delays logistics ports "
    "shipping steel aluminium lithium nickel cobalt contracts negotiations strike agreement "
    "tariffs exports imports subsidies incentives emissions targets fleet customers warranty "
    "recall defect airbag brakes steering inspection engineers testing validation launch "
    "schedule timeline executives board strategy restructuring savings jobs shifts line "
    "assembly stamping paint welding robots automation plant region government ministry "
    "the a of to in and for on with at by from as that it is was will would"
)
WORDS = VOCABULARY.split()
START = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
HTML = "text/html; charset=utf-8"


# -- prose -----------------------------------------------------------------------------------
def prose(seed: int, paragraphs: int = 5, words: int = 60) -> list[str]:
    """``paragraphs`` paragraphs of at least ``words`` words each, the same for the same seed.

    Each ends with a marker naming the seed and the paragraph, so no two generated texts share
    a sentence.
    """
    rng = random.Random(seed)
    out = []
    for p in range(paragraphs):
        sentences, n = [], 0
        while n < words:
            length = rng.randint(8, 16)
            sentences.append(" ".join(rng.choice(WORDS) for _ in range(length)).capitalize() + ".")
            n += length
        out.append(f"{' '.join(sentences)} Report {seed}-{p}.")
    return out


def prose_text(seed: int, words: int = 250) -> str:
    """About ``words`` words of prose as plain text, one paragraph a line."""
    return "\n".join(prose(seed, paragraphs=max(1, words // 50), words=50))


# -- pages -----------------------------------------------------------------------------------
def html_page(title: str, body: str, head: str = "", lang: str = "en") -> bytes:
    """A minimal page: ``body`` (HTML) inside ``<main>``."""
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f"{head}</head><body><main>{body}</main></body></html>"
    ).encode()


def text_page(title: str, body: str, lang: str = "en") -> bytes:
    """A bare article page for a plain-text ``body`` (one paragraph a line), title escaped."""
    paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in body.splitlines() if p.strip())
    return (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body><article>"
        f"<h1>{escape(title)}</h1>{paragraphs}</article></body></html>"
    ).encode()


def article_html(
    title: str,
    text: int | list[str],
    *,
    published: str = "2026-11-20T08:00:00+00:00",
    site: str = "Motor Wire",
    author: str = "Dana Keller",
    lang: str = "en",
    charset: str | None = "utf-8",
    canonical: str | None = None,
    extra_body: str = "",
) -> str:
    """An article page shaped like a trade-news site's: OpenGraph and JSON-LD ``NewsArticle``
    metadata, a byline with its time, navigation and footer around the text.

    ``text`` is the paragraphs, or a seed for :func:`prose`.
    """
    paragraphs = prose(text) if isinstance(text, int) else text
    meta_charset = f'<meta charset="{charset}">' if charset else ""
    link = f'<link rel="canonical" href="{canonical}">\n' if canonical else ""
    jsonld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": title,
            "datePublished": published,
            "author": {"@type": "Person", "name": author},
            "publisher": {"@type": "Organization", "name": site},
        }
    )
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head>{meta_charset}
<title>{title} | {site}</title>
{link}<meta property="og:type" content="article">
<meta property="og:title" content="{title}">
<meta property="og:site_name" content="{site}">
<meta property="article:published_time" content="{published}">
<script type="application/ld+json">{jsonld}</script>
</head><body>
<header><nav><a href="/">Home</a> <a href="/news/">News</a></nav></header>
<main><article>
<h1>{title}</h1>
<p class="byline">By {author} · <time datetime="{published}">{published[:10]}</time></p>
{body}
{extra_body}
</article></main>
<footer><p>© {site}</p></footer>
</body></html>"""


def listing_html(
    links: list[str] | list[tuple[str, str]],
    title: str = "Latest news",
    *,
    page: int = 1,
    pages: int = 1,
    next_url: str = "",
) -> str:
    """A section page listing ``links`` (hrefs, or (href, text) pairs), with a ``rel=next``
    link to ``next_url`` when ``page < pages``."""
    items = "\n".join(
        f'<li><a href="{link[0]}">{link[1]}</a></li>'
        if isinstance(link, tuple)
        else f'<li><a href="{link}">Story {i}</a></li>'
        for i, link in enumerate(links)
    )
    nxt = f'<nav><a rel="next" href="{next_url}">Older</a></nav>' if page < pages else ""
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"</head><body><h1>{title}</h1><ul>{items}</ul>{nxt}</body></html>"
    )


def html(body: str | bytes, status: int = 200, **headers: str) -> Response:
    """A LocalWeb response serving ``body`` as UTF-8 HTML."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return Response(status, data, {"Content-Type": HTML, **headers})


# -- the site ---------------------------------------------------------------------------------
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
    maker = MAKERS[index % len(MAKERS)]
    topic = TOPICS[(index * 7) % len(TOPICS)]
    title = f"{maker} {topic}: what story {index} means for the industry"
    slug = f"{maker.lower().replace(' ', '-')}-{topic.replace(' ', '-')}-{index}"
    paragraphs = prose(index * 7919 + 17, paragraphs=6, words=70)
    paragraphs[0] = f"{maker} said on day {index} that its {topic} plans {paragraphs[0]}"
    return Story(index, slug, title, START + timedelta(hours=7 * index), paragraphs)


def newest_first(stories: list[Story]) -> list[Story]:
    return sorted(stories, key=lambda s: s.published, reverse=True)


def story_html(s: Story, base: str) -> str:
    return article_html(
        s.title,
        s.paragraphs,
        published=s.published.isoformat(),
        site=PUBLISHER,
        author=AUTHOR,
        canonical=f"{base}{s.path}",
    )


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


def section_html(stories: list[Story], page: int = 1, pages: int = 1) -> str:
    """Page ``page`` of ``pages`` of the news section, listing ``stories``."""
    return listing_html(
        [(s.path, s.title) for s in stories],
        f"News, page {page} | {PUBLISHER}",
        page=page,
        pages=pages,
        next_url=f"/news/?page={page + 1}",
    )


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
            target.write_text(story_html(s, base), encoding="utf-8")
    (root / "news").mkdir(exist_ok=True)
    documents = {
        "index.html": home_html(stories),
        "news/index.html": section_html(newest_first(stories)),
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
                body = story_html(s, base).encode()
                return Response(200, body, {"Content-Type": HTML}, delay=self.article_delay)
        return None  # LocalWeb answers 404

    def _listing(self, number: int) -> Response | None:
        newest = newest_first(self.stories)
        pages = -(-len(newest) // self.per_listing)
        chunk = newest[(number - 1) * self.per_listing : number * self.per_listing]
        if not chunk:
            return None
        body = section_html(chunk, number, pages).encode()
        return Response(200, body, {"Content-Type": HTML})
