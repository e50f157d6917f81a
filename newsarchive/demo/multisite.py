"""Several loopback news sites built from a set of article pages, for measuring recall.

Each *origin* site publishes its stories through exactly one discovery path, so a miss can be
traced to the path that should have found it:

- ``newsmap``: a Google News sitemap (``news:publication_date``) named in robots.txt;
- ``sitemap``: a plain sitemap (``lastmod``), which also lists tag, author and calendar pages;
- ``feeds``: RSS feeds announced with ``<link rel="alternate">`` on the homepage;
- ``links``: section pages with pagination, linked from the homepage.

Every site also has pages that are not articles (about, contact, tag, author, search, calendar
archives) and an article-looking page under a path robots.txt disallows. A *syndicator* site
republishes a share of the stories in its own template, with an attribution line (in the
story's language), a cross-domain ``rel=canonical`` or JSON-LD ``isBasedOn`` naming the first
publisher; it is meant to be crawled first. Everything is served from memory; every request is
logged, so a scorer can count robots violations and pages fetched twice.

Why one module of this size: most of it is the page templates of the five sites, static text
that reads best beside the one server that fills it in.
"""

from __future__ import annotations

import html as htmllib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Self
from urllib.parse import quote, unquote, urlsplit

from newsarchive.demo.server import LocalWeb, Response, Site

if TYPE_CHECKING:
    from newsarchive.demo.server import Request

PATHS = ("newsmap", "sitemap", "feeds", "links")
SYNDICATOR = "syndicator"
SYNDICATOR_NAME = "Newswire Digest"
PER_LISTING = 20
# Only stories with this much known text are republished (a copy must be recognisable).
MIN_COPY_CHARS = 400
PER_FEED = 40
HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
DISALLOWED = "/private/"
# Attribution lines in the story's language: {name} the first publisher, {link} a link to it.
CREDIT_LINES = {
    "de": "Quelle: {link}",
    "es": "Fuente: {link}",
    "pt": "Fonte: {link}",
    "it": "Fonte: {link}",
    "fr": "Source : {link}",
    "nl": "Bron: {link}",
    "ja": "出典：{link}",
    "zh": "来源：{link}",
    "ru": "Источник: {link}",
}
DEFAULT_CREDIT = "Originally published by {link}."


@dataclass(slots=True)
class StoryPage:
    """One article of an origin site: its page as the publisher serves it, and what a
    republisher needs to copy it (title, plain text, date, language)."""

    key: str
    path: str  # as the publisher wrote it: empty segments, matrix parameters and case kept
    html: bytes
    title: str
    body: str
    published: datetime | None = None
    lang: str | None = None
    site_name: str | None = None


@dataclass(slots=True)
class NonArticle:
    path: str
    html: bytes


@dataclass(slots=True)
class Republication:
    """A syndicator copy of ``story`` (which lives on site ``origin``)."""

    story: StoryPage
    origin: str
    path: str
    style: int  # which attribution form (see ``_credit``)
    published: datetime | None


@dataclass(slots=True)
class MultiSiteWeb:
    """The sites, their pages and the server; use as a context manager."""

    stories: dict[str, list[StoryPage]]
    syndicated_share: float = 0.3
    copy_delay: timedelta = timedelta(hours=6)
    extra_non_articles: dict[str, list[NonArticle]] = field(default_factory=dict)
    republications: list[Republication] = field(default_factory=list)
    web: LocalWeb | None = None
    _cache: dict[str, dict[str, tuple[bytes, str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        step = max(1, round(1 / self.syndicated_share)) if self.syndicated_share > 0 else 0
        n = 0
        for site in PATHS:
            for i, story in enumerate(self.stories.get(site, [])):
                if step and i % step == 0 and len(story.body) >= MIN_COPY_CHARS:
                    # even copies carry the wire's timestamp (a tie), odd ones are later
                    published = story.published
                    if published is not None and n % 2:
                        published = published + self.copy_delay
                    slug = re.sub(r"[^a-z0-9]+", "-", story.key.lower()).strip("-")
                    self.republications.append(
                        Republication(story, site, f"/stories/{n:04d}-{slug}.html", n, published)
                    )
                    n += 1

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> Self:
        sites = [Site(name, handler=self._handler(name)) for name in (*PATHS, SYNDICATOR)]
        self.web = LocalWeb(sites).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.web is not None:
            self.web.stop()

    def base(self, site: str) -> str:
        assert self.web is not None
        return self.web.base(site)

    def url(self, site: str, path: str) -> str:
        return self.base(site) + path

    # -- truth -----------------------------------------------------------------------------
    def article_paths(self, site: str) -> dict[str, str]:
        """path → story key of the articles a site publishes."""
        if site == SYNDICATOR:
            return {r.path: r.story.key for r in self.republications}
        return {s.path: s.key for s in self.stories.get(site, [])}

    def fetch_counts(self) -> dict[tuple[str, str], int]:
        """(site, path) → successful GETs."""
        assert self.web is not None
        counts: dict[tuple[str, str], int] = {}
        for entry in self.web.requests_for():
            if entry.method == "GET" and entry.status == 200:
                key = (entry.site, entry.path)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def robots_violations(self) -> list[str]:
        assert self.web is not None
        return [
            f"{e.site}{e.path}"
            for e in self.web.requests_for()
            if urlsplit(e.path).path.startswith(DISALLOWED)
        ]

    # -- serving ---------------------------------------------------------------------------
    def _handler(self, site: str):  # type: ignore[no-untyped-def]
        def handle(request: Request) -> Response | None:
            pages = self._pages(site)
            found = pages.get(page_key(request.path))
            if found is None:
                return Response(404, b"<html><body><h1>Not found</h1></body></html>", {
                    "Content-Type": HTML
                })  # fmt: skip
            body, ctype = found
            return Response(200, body, {"Content-Type": ctype})

        return handle

    def _pages(self, site: str) -> dict[str, tuple[bytes, str]]:
        """unquoted path → (body, content type), built on first request (ports are known)."""
        if site not in self._cache:
            built = self._build_syndicator() if site == SYNDICATOR else self._build_origin(site)
            self._cache[site] = {page_key(path): page for path, page in built.items()}
        return self._cache[site]

    def _build_origin(self, site: str) -> dict[str, tuple[bytes, str]]:
        base = self.base(site)
        stories = self.stories.get(site, [])
        name = f"{site.capitalize()} Auto News"
        pages: dict[str, tuple[bytes, str]] = {}
        for story in stories:
            pages[story.path] = (story.html, HTML)
        linked = site == "links"
        extra = [(n.path, n.html) for n in self.extra_non_articles.get(site, [])]
        non_articles = _non_articles(name, stories, linked=linked) + extra
        for path, body in non_articles:
            pages[path] = (body, HTML)
        pages[DISALLOWED + "embargoed-story.html"] = (_private_page(name), HTML)
        robots = f"User-agent: *\nDisallow: {DISALLOWED}\n"
        home_links = [p for p, _ in non_articles] + [DISALLOWED + "embargoed-story.html"]
        head = ""
        if site == "newsmap":
            robots += f"Sitemap: {base}/news-sitemap-index.xml\n"
            pages["/news-sitemap-index.xml"] = (_sitemap_index(base, len(stories)), XML)
            for i in range(0, max(len(stories), 1), 100):
                pages[f"/news-sitemap-{i // 100}.xml"] = (
                    _news_sitemap(base, stories[i : i + 100], name),
                    XML,
                )
        elif site == "sitemap":
            robots += f"Sitemap: {base}/sitemap.xml\n"
            listed = [s.path for s in stories] + [p for p, _ in non_articles]
            pages["/sitemap.xml"] = (_plain_sitemap(base, listed), XML)
        elif site == "feeds":
            for i in range(0, max(len(stories), 1), PER_FEED):
                path = f"/feeds/section-{i // PER_FEED}.rss"
                pages[path] = (_rss(base, stories[i : i + PER_FEED], name), XML)
                head += (
                    f'<link rel="alternate" type="application/rss+xml" title="{name}" '
                    f'href="{path}">'
                )
        elif site == "links":
            sections = _sections(stories)
            for path, body in sections.items():
                pages[path] = (body, HTML)
            home_links = [p for p in sections if "/page/" not in p] + home_links
        pages["/robots.txt"] = (robots.encode(), "text/plain; charset=utf-8")
        pages["/"] = (_home(name, head, home_links), HTML)
        return pages

    def _build_syndicator(self) -> dict[str, tuple[bytes, str]]:
        base = self.base(SYNDICATOR)
        pages: dict[str, tuple[bytes, str]] = {}
        others = [r.path for r in self.republications]
        for i, rep in enumerate(self.republications):
            related = [others[(i + k) % len(others)] for k in (1, 2, 3)]
            pages[rep.path] = (self._republication(rep, related), HTML)
        stories = [
            StoryPage(r.story.key, r.path, b"", r.story.title, "", r.published)
            for r in self.republications
        ]
        pages["/robots.txt"] = (
            f"User-agent: *\nDisallow: {DISALLOWED}\nSitemap: {base}/news-sitemap.xml\n".encode(),
            "text/plain; charset=utf-8",
        )
        pages["/news-sitemap.xml"] = (_news_sitemap(base, stories, SYNDICATOR_NAME), XML)
        pages["/"] = (_home(SYNDICATOR_NAME, "", ["/about/"]), HTML)
        pages["/about/"] = (_about(SYNDICATOR_NAME), HTML)
        return pages

    def _republication(self, rep: Republication, related: list[str]) -> bytes:
        story = rep.story
        origin_url = self.url(rep.origin, published_path(story.path))
        credit_html, canonical, based_on = _credit(rep, origin_url)
        ld: dict[str, object] = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": story.title,
            "publisher": {"@type": "Organization", "name": SYNDICATOR_NAME},
        }
        if rep.published is not None:
            ld["datePublished"] = rep.published.isoformat()
        if based_on:
            ld["isBasedOn"] = origin_url
        if rep.style % 6 == 4 and story.site_name:
            ld["sourceOrganization"] = {"@type": "Organization", "name": story.site_name}
        paragraphs = [p for p in story.body.split("\n") if p.strip()]
        if rep.style % 6 == 4 and story.site_name:
            paragraphs[0] = f"({story.site_name}) — {paragraphs[0]}"
        body = "\n".join(f"<p>{htmllib.escape(p)}</p>" for p in paragraphs)
        canonical_link = f'<link rel="canonical" href="{origin_url}">' if canonical else ""
        lang = story.lang or "en"
        related_html = "".join(f'<li><a href="{p}">More from the wire</a></li>' for p in related)
        return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<title>{htmllib.escape(story.title)} | {SYNDICATOR_NAME}</title>{canonical_link}
<meta property="og:type" content="article"><meta property="og:site_name" content="{SYNDICATOR_NAME}">
<script type="application/ld+json">{json.dumps(ld)}</script></head>
<body><header><a href="/">{SYNDICATOR_NAME}</a><nav><a href="/about/">About the wire</a></nav></header>
<main><article><h1>{htmllib.escape(story.title)}</h1>
{body}
{credit_html}
</article></main>
<aside><h3>Related</h3><ul>{related_html}</ul></aside>
<footer><p>{SYNDICATOR_NAME} republishes stories from partner newsrooms around the world under
licence. Cookie settings, terms of use and the privacy notice apply to this website.</p></footer>
</body></html>""".encode()


def _credit(rep: Republication, origin_url: str) -> tuple[str, bool, bool]:
    """(attribution HTML, cross-domain canonical?, JSON-LD isBasedOn?) for one style."""
    story = rep.story
    primary = (story.lang or "en").split("-")[0]
    line = CREDIT_LINES.get(primary, DEFAULT_CREDIT)
    style = rep.style % 6
    name = story.site_name
    link = f'<a href="{origin_url}">{htmllib.escape(name or urlsplit(origin_url).netloc)}</a>'
    if style == 2 and name:  # a name only, no link, with isBasedOn in JSON-LD
        return f'<p class="credit">{line.format(link=htmllib.escape(name))}</p>', False, True
    if style == 4 and name:  # an agency-style dateline prefix and sourceOrganization
        return "", False, False
    if style == 5:  # cross-domain canonical only
        return "", True, False
    return f'<p class="credit">{line.format(link=link)}</p>', style == 1, False


def _page(title: str, body: str, head: str = "") -> bytes:
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{htmllib.escape(title)}</title>{head}</head><body><header><a href="/">Home</a></header>
<main>{body}</main><footer><a href="/about/">About</a> <a href="/contact/">Contact</a></footer>
</body></html>""".encode()


def _home(name: str, head: str, links: list[str]) -> bytes:
    items = "".join(
        f'<li><a href="{htmllib.escape(p)}">{htmllib.escape(p)}</a></li>' for p in links
    )
    return _page(name, f"<h1>{name}</h1><ul>{items}</ul>", head)


def _about(name: str) -> bytes:
    text = (
        f"{name} is an independent newsroom covering the automotive industry, its suppliers and "
        "the policy that shapes it. Our reporters work from offices in several countries and "
        "publish news, analysis and interviews every day of the week. We are funded by our "
        "readers and by advertising, and we keep the two strictly apart: no advertiser sees a "
        "story before it is published. Corrections are published at the foot of the story "
        "concerned, with the date of the change. To reach the newsroom, write to the desk "
        "editors through the contact page; press releases go to the same address."
    )
    return _page(f"About us | {name}", f"<h1>About {name}</h1><p>{text}</p><p>{text}</p>")


def _non_articles(name: str, stories: list[StoryPage], *, linked: bool) -> list[tuple[str, bytes]]:
    """About, contact, tag, author, search and calendar pages. On the ``links`` site the
    listings link the stories; elsewhere they name them without links (one path per site)."""

    def listing(title: str, chosen: list[StoryPage]) -> bytes:
        if linked:
            items = "".join(
                f'<li><h3><a href="{htmllib.escape(published_path(s.path))}">{htmllib.escape(s.title)}</a>'
                "</h3></li>"
                for s in chosen
            )
        else:
            items = "".join(f"<li><h3>{htmllib.escape(s.title)}</h3></li>" for s in chosen)
        return _page(f"{title} | {name}", f"<h1>{title}</h1><ul>{items}</ul>")

    contact = (
        "<h1>Contact</h1><p>Newsroom: write to the desk through this page. Advertising and "
        "partnerships have their own team; subscriptions are handled by our service centre, "
        "open on weekdays from nine to five.</p><form><input name='email'></form>"
    )
    return [
        ("/about/", _about(name)),
        ("/contact/", _page(f"Contact | {name}", contact)),
        ("/tag/electric-vehicles/", listing("Electric vehicles", stories[:12])),
        ("/tag/suppliers/", listing("Suppliers", stories[12:24])),
        ("/author/newsdesk/", listing("Articles by the news desk", stories[:15])),
        ("/search?q=battery", listing("Search results for battery", stories[5:15])),
        ("/2024/05/", listing("Archive: May 2024", stories[:20])),
        ("/2024/05/17/", listing("Archive: 17 May 2024", stories[:6])),
    ]


def _private_page(name: str) -> bytes:
    text = " ".join(["This embargoed preview must not be fetched by polite crawlers."] * 20)
    return _page(
        f"Embargoed preview | {name}",
        f"<article><h1>Embargoed preview story</h1><p>{text}</p></article>",
        '<meta property="og:type" content="article">',
    )


def _sections(stories: list[StoryPage]) -> dict[str, bytes]:
    """Two sections, each paginated ``PER_LISTING`` stories a page, newest first."""
    pages: dict[str, bytes] = {}
    for n, section in enumerate(("industry", "markets")):
        chosen = stories[n::2]
        chunks = [chosen[i : i + PER_LISTING] for i in range(0, len(chosen), PER_LISTING)] or [[]]
        for number, chunk in enumerate(chunks, start=1):
            path = f"/sections/{section}/" + (f"page/{number}/" if number > 1 else "")
            items = "".join(
                f'<li><h3><a href="{htmllib.escape(published_path(s.path))}">{htmllib.escape(s.title)}</a>'
                f"</h3><p>{htmllib.escape(s.body[:120])}…</p></li>"
                for s in chunk
            )
            nxt = (
                f'<a rel="next" href="/sections/{section}/page/{number + 1}/">Older</a>'
                if number < len(chunks)
                else ""
            )
            pages[path] = _page(f"{section.capitalize()}, page {number}", f"<ul>{items}</ul>{nxt}")
    return pages


def _xml_escape(url: str) -> str:
    return htmllib.escape(url, quote=False)


def published_path(path: str) -> str:
    """A path as a CMS writes it into links, sitemaps and feeds: percent-escaped where it must
    be, everything else (empty segments, matrix parameters, case) as it is."""
    return quote(path, safe="/:;=%&?,+!$'()*@~-._")


def page_key(path: str) -> str:
    """How the server finds a page: escapes decoded, query parameters in any order (a web
    server parses the query; it does not compare it as a string)."""
    raw = unquote(path)
    base, _, query = raw.partition("?")
    # http.server turns a leading "//" into "/" before we see it (as nginx merges slashes)
    base = _remove_dot_segments("/" + base.lstrip("/"))
    return base + ("?" + "&".join(sorted(query.split("&"))) if query else "")


def _remove_dot_segments(path: str) -> str:
    """``/a/b/./c`` → ``/a/b/c``, ``/a/b/.`` → ``/a/b/``, ``/a/b/../c`` → ``/a/c``: a web
    server resolves dot segments before it routes (RFC 3986 5.2.4; nginx, Apache), and every
    client resolves them before it sends a link, so a page a site wrote as ``…/18725/.`` is
    answered at ``…/18725/``."""
    segs = path.split("/")
    out: list[str] = []
    for i, seg in enumerate(segs):
        last = i == len(segs) - 1
        if seg in (".", ".."):
            if seg == ".." and len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(seg)
    return "/".join(out) or "/"


def _sitemap_index(base: str, count: int) -> bytes:
    items = "".join(
        f"<sitemap><loc>{base}/news-sitemap-{i}.xml</loc></sitemap>"
        for i in range(max(1, -(-count // 100)))
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>'
    ).encode()


def _news_sitemap(base: str, stories: list[StoryPage], name: str) -> bytes:
    items = []
    for s in stories:
        date = (
            f"<news:publication_date>{s.published.isoformat()}</news:publication_date>"
            if s.published
            else ""
        )
        items.append(
            f"<url><loc>{_xml_escape(base + published_path(s.path))}</loc><news:news><news:publication>"
            f"<news:name>{htmllib.escape(name)}</news:name><news:language>{s.lang or 'en'}"
            f"</news:language></news:publication>{date}"
            f"<news:title>{htmllib.escape(s.title)}</news:title></news:news></url>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset '
        'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        + "".join(items)
        + "</urlset>"
    ).encode()


def _plain_sitemap(base: str, paths: list[str]) -> bytes:
    items = "".join(
        f"<url><loc>{_xml_escape(base + published_path(p))}</loc><lastmod>2024-05-20</lastmod></url>"
        for p in paths
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>'
    ).encode()


def _rss(base: str, stories: list[StoryPage], name: str) -> bytes:
    items = "".join(
        f"<item><title>{htmllib.escape(s.title)}</title>"
        f"<link>{_xml_escape(base + published_path(s.path))}</link>"
        + (
            f"<pubDate>{s.published.strftime('%a, %d %b %Y %H:%M:%S %z')}</pubDate>"
            if s.published
            else ""
        )
        + "</item>"
        for s in stories
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{htmllib.escape(name)}</title><link>{base}/</link>{items}</channel></rss>"
    ).encode()
