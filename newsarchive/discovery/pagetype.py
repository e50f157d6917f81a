"""Is this page an article? A site-independent rule, so the archive holds stories and nothing else.

Discovery reaches many pages that are not stories: homepages, sections, tag/author/search
listings, calendars, about/contact/login pages, AMP and print copies. The rule adds up general
evidence — what the page says it is (``og:type``, JSON-LD ``@type``, a publication time), what its
text looks like (one dense block of long paragraphs versus many short link-heavy teasers) and
the shape of its URL — and accepts a page when the evidence clears :data:`THRESHOLD`. No rule is
keyed to a site. docs/discovery.md explains the weights and reports the measured accuracy.

:func:`url_kind` is the URL-only part, used before fetching: sitemap and feed entries of any
kind but ``other`` are skipped; among links found on listings, ``listing``/``root`` pages are
followed as listings and ``media``/``utility``/``variant`` ones are skipped.

Why one module of this size: the signals are weighed against each other in one score, so their
weights and the threshold are read (and tuned against the corpus) in one place.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urljoin, urlsplit

import lxml.html
from lxml import etree

from newsarchive.contracts import UrlKind
from newsarchive.discovery.urls import registered_domain, url_key
from newsarchive.extraction.metadata import (
    ARTICLE_TYPES,
    jsonld_types,
    load_jsonld,
    walk_jsonld,
)
from newsarchive.extraction.textlength import latin_chars
from newsarchive.items import Listing

logger = logging.getLogger(__name__)

THRESHOLD = 2.0
# A page the publisher listed in a news sitemap or feed needs only this much article text.
LISTED_MIN_BLOCK = 150
# ...or a single text run this long outside links (extraction and validation decide the rest).
LISTED_MIN_TEXT = 40
TRUSTED_LISTINGS = frozenset({Listing.NEWS_SITEMAP, Listing.FEED})
# Reached from a listing through a headline link (inside h1-h4): the publisher's section
# presents the page as a story, weaker evidence than a news sitemap or feed.
SECTION_HEADLINE_SCORE = 1.0
# A single h1 that opens the page title (the headline of one story).
HEADLINE_SCORE = 0.5

# JSON-LD keys leading to nodes that describe this page itself
OWN_NODE_KEYS = ("@graph", "mainEntity")
LISTING_TYPES = frozenset(
    {"collectionpage", "itemlist", "searchresultspage", "profilepage", "aboutpage", "contactpage"}
)

# Path segments that introduce a listing of other pages (followed by at most one more segment).
LISTING_SEGMENTS = frozenset(
    {
        "tag",
        "tags",
        "topic",
        "topics",
        "thema",
        "themen",
        "category",
        "categories",
        "kategorie",
        "categorie",
        "categoria",
        "section",
        "sections",
        "rubrik",
        "author",
        "authors",
        "autor",
        "autoren",
        "auteur",
        "autore",
        "writer",
        "byline",
        "people",
        "search",
        "suche",
        "recherche",
        "cerca",
        "archive",
        "archives",
        "archiv",
        "archivio",
        "page",
        "seite",
        "feed",
        "feeds",
        "rss",
        "sitemap",
        "newsletters",
        "latest",
        "most-read",
        "popular",
    }
)
# Pages that are never articles, wherever they sit.
UTILITY_SEGMENTS = frozenset(
    {
        "about",
        "about-us",
        "contact",
        "contact-us",
        "kontakt",
        "contatti",
        "impressum",
        "imprint",
        "privacy",
        "privacy-policy",
        "datenschutz",
        "terms",
        "terms-of-use",
        "terms-and-conditions",
        "cookies",
        "cookie-policy",
        "login",
        "log-in",
        "signin",
        "sign-in",
        "logout",
        "register",
        "signup",
        "sign-up",
        "subscribe",
        "subscription",
        "abo",
        "account",
        "my-account",
        "cart",
        "checkout",
        "advertise",
        "advertising",
        "mediadaten",
        "careers",
        "jobs",
        "wp-admin",
        "wp-login.php",
        "cdn-cgi",
        "print",
        "amp",
    }
)
MEDIA_EXTENSIONS = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".png",
        ".gif",
        ".webp",
        ".avif",
        ".svg",
        ".ico",
        ".bmp",
        ".tif",
        ".tiff",
        ".mp3",
        ".mp4",
        ".m4a",
        ".m4v",
        ".mov",
        ".avi",
        ".webm",
        ".ogg",
        ".wav",
        ".pdf",
        ".zip",
        ".gz",
        ".rar",
        ".7z",
        ".doc",
        ".docx",
        ".xls",
        ".xlsx",
        ".ppt",
        ".pptx",
        ".css",
        ".js",
        ".json",
        ".xml",
        ".rss",
        ".atom",
        ".rdf",
        ".txt",
        ".csv",
        ".woff",
        ".woff2",
        ".ttf",
        ".eot",
        ".exe",
        ".dmg",
        ".apk",
    }
)
LISTING_PARAMS = frozenset({"page", "paged", "pg", "s", "q", "query", "search", "tag", "cat"})
VARIANT_PARAMS = frozenset({"amp", "print", "output", "outputtype", "view", "format"})

_DATE_IN_PATH = re.compile(r"/(19|20)\d{2}/(0?[1-9]|1[0-2])(/|$)|/(19|20)\d{2}-\d{2}-\d{2}")
_ARTICLE_ID = re.compile(r"\d{5,}")
_YEAR = re.compile(r"(?:19|20)\d{2}")
_ARTICLE_ID_PARAM = re.compile(r"\d{3,}")
_WS = re.compile(r"\s+")
_BOILERPLATE_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "iframe",
    "button",
    "select",
)


@dataclass(slots=True)
class PageVerdict:
    is_article: bool
    score: float
    reasons: list[str] = field(default_factory=list)


def _segments(path: str) -> list[str]:
    return [s.lower() for s in path.split("/") if s]


def url_kind(url: str) -> UrlKind:
    """``root``, ``media``, ``utility``, ``variant``, ``listing`` or ``other`` (may be an article)."""
    parts = urlsplit(url)
    segs = _segments(parts.path)
    if not segs:
        names = {k.lower() for k, _ in parse_qsl(parts.query)}
        return UrlKind.LISTING if names & LISTING_PARAMS or not names else UrlKind.OTHER
    last = segs[-1]
    dot = last.rfind(".")
    if dot > 0 and last[dot:] in MEDIA_EXTENSIONS:
        return UrlKind.MEDIA
    params = {k.lower(): v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
    if (
        last in ("amp", "print")
        or last.endswith((".amp", ".amp.html"))
        or (
            VARIANT_PARAMS & params.keys()
            and any(
                params[k].lower() in ("", "1", "true", "amp", "print")
                for k in VARIANT_PARAMS & params.keys()
            )
        )
    ):
        return UrlKind.VARIANT
    if any(s in UTILITY_SEGMENTS for s in segs):
        return UrlKind.UTILITY
    if _is_date_archive(segs):
        return UrlKind.LISTING  # a calendar page such as /2024/05/01/
    for i, seg in enumerate(segs):
        rest = segs[i + 1 :]
        if seg in LISTING_SEGMENTS and (
            (len(rest) <= 1 and not (rest and _ARTICLE_ID.fullmatch(rest[0])))
            or (rest and all(s.isdigit() and len(s) <= 4 for s in rest))
        ):
            # /tag/x, /page/2, /archive/2024/05; not /archive/63076 (an article id)
            return UrlKind.LISTING
    if LISTING_PARAMS & params.keys() and not any(
        _ARTICLE_ID_PARAM.fullmatch(v) for k, v in params.items() if k not in LISTING_PARAMS
    ):
        return UrlKind.LISTING
    if last.isdigit() and len(segs) >= 2 and segs[-2] in ("page", "seite", "p"):
        return UrlKind.LISTING
    return UrlKind.OTHER


def _is_date_archive(segs: list[str]) -> bool:
    """/2024/05/, /2024/05/01/ (a year, then a month and at most a day); /822 is not.

    A lone year (/1927) is not taken for a calendar from its URL: numeric post ids collide
    with years, so such a page is fetched and its content decides (a year archive is a list).
    """
    if not 2 <= len(segs) <= 3 or not all(s.isdigit() for s in segs):
        return False
    return bool(_YEAR.fullmatch(segs[0])) and all(len(s) <= 2 for s in segs[1:])


def _has_id_param(query: str) -> bool:
    """A query parameter whose value is a numeric id (``?p=31228``, ``?pk_no=1412361``,
    ``?id=8576``) selects one item, as an id in the path does; paging and search parameters
    (:data:`LISTING_PARAMS`) do not."""
    return any(
        k.lower() not in LISTING_PARAMS and _ARTICLE_ID_PARAM.fullmatch(v)
        for k, v in parse_qsl(query)
    )


def _url_score(url: str) -> tuple[float, str]:
    kind = url_kind(url)
    if kind in (UrlKind.ROOT, UrlKind.MEDIA, UrlKind.UTILITY):
        return -4.0, f"url:{kind}"
    if kind in (UrlKind.LISTING, UrlKind.VARIANT):
        return -2.0, f"url:{kind}"
    path = urlsplit(url).path
    segs = _segments(path)
    last = segs[-1] if segs else ""
    words = [w for w in re.split(r"[-_+.]", last.rsplit(".", 1)[0] if "." in last else last) if w]
    if (
        _DATE_IN_PATH.search(path)
        or _ARTICLE_ID.search(path)
        or len(words) >= 4
        or _has_id_param(urlsplit(url).query)
    ):
        return 1.0, "url:article_shape"
    if len(segs) <= 1 and len(words) <= 2:
        return -1.0, "url:shallow"
    return 0.0, "url:neutral"


def _jsonld_types(doc: lxml.html.HtmlElement) -> set[str]:
    """What the page says it is: not the types of the items a listing enumerates
    (``itemListElement``), which would make every list of news articles look like one."""
    types: set[str] = set()
    for script in doc.xpath('//script[contains(@type, "ld+json")]'):
        data = load_jsonld(script.text or "")
        if data is not None:
            for node in walk_jsonld(data, follow=OWN_NODE_KEYS):
                types |= jsonld_types(node)
    return types


def _meta(doc: lxml.html.HtmlElement, key: str) -> str | None:
    for el in doc.xpath(f'//meta[@property="{key}" or @name="{key}"]'):
        content = el.get("content")
        if content:
            return str(content).strip()
    return None


def _text(el: lxml.html.HtmlElement) -> str:
    return _WS.sub(" ", el.text_content()).strip()


def _parse(html: bytes | str) -> lxml.html.HtmlElement | None:
    if not html or not html.strip():
        return None
    try:
        doc = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError) as exc:
        logger.debug("unparsable page: %s", exc)
        return None
    return doc


def _is_variant_of_canonical(doc: lxml.html.HtmlElement, url: str) -> bool:
    canonical = doc.xpath('//link[@rel="canonical"]/@href')
    if not canonical:
        return False
    target = urljoin(url, str(canonical[0]).strip())
    if url_key(target) == url_key(url) or registered_domain(target) != registered_domain(url):
        # a copy whose canonical is on another site is the only copy a crawl of this site gets
        return False
    root = doc.getroottree().getroot()
    is_amp = root.get("amp") is not None or root.get("⚡") is not None
    return is_amp or url_kind(url) == UrlKind.VARIANT


def _drop_boilerplate(doc: lxml.html.HtmlElement) -> None:
    for bad in doc.xpath("//" + " | //".join(_BOILERPLATE_TAGS)):
        if bad.getparent() is not None:
            bad.drop_tree()
    # Some templates wrap the whole page in <header> or <aside>; keep those that hold the story.
    for bad in doc.xpath("//header | //footer | //nav | //aside"):
        if (
            bad.getparent() is not None
            and not bad.xpath(".//article")
            and len(bad.xpath(".//p")) < 3
        ):
            bad.drop_tree()


def _main_block(doc: lxml.html.HtmlElement) -> tuple[int, int]:
    """Characters in the densest block of long, link-poor paragraphs, and how many there are.

    A paragraph counts for its parent and, unless its parent is a teaser (has a linked
    heading), its grandparent — articles wrap paragraphs in one ``<div>`` each, listings put
    one summary under each linked headline.
    """
    _drop_boilerplate(doc)
    # Keyed by the element, never by id(): lxml makes a new proxy object for an element each
    # time it is reached unless one is still referenced, so the id of a freed proxy came back
    # for another element and their paragraphs were counted as one block. The dict holding
    # the proxies keeps each element's one proxy alive.
    blocks: dict[lxml.html.HtmlElement, int] = {}
    long_paras = 0
    for p in doc.iter("p"):
        text = _text(p)
        size = latin_chars(text)
        if size < 60:
            continue
        link_chars = sum(latin_chars(_text(a)) for a in p.iter("a"))
        if link_chars > 0.5 * size:
            continue
        long_paras += 1
        parent = p.getparent()
        if parent is None:
            continue
        blocks[parent] = blocks.get(parent, 0) + size
        grand = parent.getparent()
        if grand is not None and not parent.xpath("h1/a | h2/a | h3/a | h4/a | */h2/a | */h3/a"):
            blocks[grand] = blocks.get(grand, 0) + size
    main_block = max(blocks.values(), default=0)
    if main_block < 300:
        # Pages that set text with <br> or bare <div>s: text outside links, per enclosing block.
        per_block: dict[lxml.html.HtmlElement, int] = {}
        for node in doc.xpath("//body//text()[not(ancestor::a)]"):
            text = _WS.sub(" ", str(node)).strip()
            size = latin_chars(text)
            if size < 30:
                continue
            block = node.getparent()
            while block is not None and block.tag not in (
                "div",
                "td",
                "article",
                "section",
                "main",
                "body",
            ):
                block = block.getparent()
            if block is not None:
                per_block[block] = per_block.get(block, 0) + size
        main_block = max(main_block, max(per_block.values(), default=0))
    return main_block, long_paras


def _has_headline(doc: lxml.html.HtmlElement) -> bool:
    """One ``<h1>`` whose text opens the page title: a story's headline (listings and
    homepages have none, several, or one naming the site or section)."""
    h1s = [_text(h) for h in doc.iter("h1")]
    title = doc.find(".//title")
    if len(h1s) != 1 or title is None or len(h1s[0].split()) < 4:
        return False
    return _text(title).casefold().startswith(h1s[0].casefold()[:40])


def _has_text(doc: lxml.html.HtmlElement) -> bool:
    """Any run of text outside links as long as a sentence (the page is not plainly empty)."""
    body = doc.find("body")
    if body is None:
        return False
    return any(
        latin_chars(_WS.sub(" ", str(t)).strip()) >= LISTED_MIN_TEXT
        for t in body.xpath(".//text()[not(ancestor::a)]")
    )


def classify(html: bytes | str, url: str, *, listed: Listing | None = None) -> PageVerdict:
    """Decide whether the page at ``url`` is one article (pure: no network, no state).

    ``listed`` is where the publisher listed the URL. A news sitemap or a feed is the
    publisher's own statement that the page is a news article: such a page is kept unless it
    plainly has no article text (no block of :data:`LISTED_MIN_BLOCK` characters, no long
    paragraph, no text run of :data:`LISTED_MIN_TEXT` characters), whatever its URL or markup
    says; extraction and validation then judge the text itself.
    """
    doc = _parse(html)
    if doc is None:
        return PageVerdict(False, -10.0, [_url_score(url)[1], "empty"])
    return classify_tree(doc, url, listed=listed)


def classify_tree(
    doc: lxml.html.HtmlElement, url: str, *, listed: Listing | None = None
) -> PageVerdict:
    """:func:`classify` on a parsed page. It removes boilerplate from ``doc`` as it goes: pass
    a copy if the tree is needed afterwards."""
    reasons: list[str] = []
    score, why = _url_score(url)
    reasons.append(why)
    if _is_variant_of_canonical(doc, url):
        return PageVerdict(False, -10.0, [*reasons, "variant_of_canonical"])

    if _has_headline(doc):
        score += HEADLINE_SCORE
        reasons.append("headline")
    if listed == Listing.SECTION:
        score += SECTION_HEADLINE_SCORE
        reasons.append("listed:section")

    og_type = (_meta(doc, "og:type") or "").lower()
    if og_type == "article" or og_type.startswith("article"):
        score += 2.0
        reasons.append("og:article")
    elif og_type in ("website", "profile", "video.other", "product", "book") and not (
        _jsonld_types(doc) & ARTICLE_TYPES
    ):
        score -= 0.5  # many CMSs say "website" on every page
        reasons.append(f"og:{og_type}")

    types = _jsonld_types(doc)
    if types & ARTICLE_TYPES:
        score += 2.0
        reasons.append("jsonld:article")
    elif types & LISTING_TYPES:
        score -= 2.0
        reasons.append("jsonld:listing")

    if (
        _meta(doc, "article:published_time")
        or doc.xpath('//*[@itemprop="datePublished"]')
        or doc.xpath("//time[@datetime and (@pubdate or ancestor::article)]")
    ):
        score += 1.0
        reasons.append("published_time")

    main_block, long_paras = _main_block(doc)
    if main_block >= 3000:
        score += 2.5  # pages of continuous prose this long are stories whatever their markup
    elif main_block >= 1500:
        score += 2.0
    elif main_block >= 700:
        score += 1.5
    elif main_block >= 300:
        score += 0.5
    elif main_block < 150:
        score -= 1.5
    reasons.append(f"main_block:{main_block}")
    if long_paras >= 6:
        score += 1.0
        reasons.append(f"paragraphs:{long_paras}")
    elif long_paras >= 3:
        score += 0.5
        reasons.append(f"paragraphs:{long_paras}")

    body = doc.find("body")
    if body is not None:
        all_chars = len(_text(body))
        link_chars = sum(len(_text(a)) for a in body.iter("a"))
        density = link_chars / all_chars if all_chars else 0.0
        if density > 0.6:
            score -= 1.5
            reasons.append(f"link_density:{density:.2f}")
        elif density > 0.45:
            score -= 0.5
            reasons.append(f"link_density:{density:.2f}")
        teasers = len(body.xpath("//article")) + len(body.xpath("//h2[a] | //h3[a]"))
        if teasers >= 8 and main_block < 1500:
            score -= 1.5
            reasons.append(f"teasers:{teasers}")

    if (
        score < THRESHOLD
        and listed in TRUSTED_LISTINGS
        and url_kind(url) not in ("media", "utility")
    ):
        if main_block >= LISTED_MIN_BLOCK or long_paras >= 1 or _has_text(doc):
            reasons.append(f"listed:{listed}")
            return PageVerdict(True, round(score, 2), reasons)
        reasons.append(f"listed:{listed}:no_text")
    return PageVerdict(score >= THRESHOLD, round(score, 2), reasons)
