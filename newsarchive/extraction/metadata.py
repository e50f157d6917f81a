"""Collect article metadata candidates from every source a page offers.

Each source is read independently into a :class:`PageMeta`; :mod:`newsarchive.extraction` fuses
them with the documented precedence. Sources: JSON-LD (``@graph``, arrays, nested and referenced
author objects), OpenGraph and ``article:*``, Dublin Core, parse.ly / sailthru and similar meta,
``itemprop`` microdata, ``<time>`` elements, and the ``<html lang>`` / content-language hints.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

if TYPE_CHECKING:
    from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

ARTICLE_TYPES = frozenset(
    {
        "newsarticle",
        "article",
        "reportagenewsarticle",
        "blogposting",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
        "backgroundnewsarticle",
        "askpublicnewsarticle",
        "liveblogposting",
        "socialmediaposting",
        "techarticle",
        "report",
        "review",
        "scholarlyarticle",
    }
)
_DATE_CLASS = (
    "date",
    "time",
    "datum",
    "fecha",
    "data",
    "tanggal",
    "published",
    "dateline",
    "pubdate",
    "timestamp",
    "posted",
    "publish",
)
_DATE_TAGS = frozenset({"span", "p", "div", "time", "small"})
_DATE_RE = re.compile("|".join(_DATE_CLASS))
_BYLINE_CLASS = ("byline", "author", "autor", "auteur", "signature", "firma", "penulis", "writer")
_BYLINE_TAGS = frozenset({"span", "p", "div", "address", "a"})
_BYLINE_RE = re.compile("|".join(_BYLINE_CLASS))
_HEADLINE_RE = re.compile("headline|Headline")
# an element inside an <h1> that is not the headline: a kicker (overline, Dachzeile, surtitre,
# occhiello, antetítulo, a topic label) or text shown only to screen readers (a hidden dash)
_KICKER_CLASS = re.compile(
    r"kicker|overline|dachzeile|spitzmarke|roofline|eyebrow|topic|label|rubri[ck]|flag|"
    r"supertitle|surtitle|surtitre|occhiello|antetitulo|pretitle|pre-title|titleheader|"
    r"title-header|offscreen|sr-only|srOnly|visually-hidden|screen-reader",
    re.IGNORECASE,
)
_BYLINE_WORDS = (
    "By",
    "BY",
    "by",
    "Von",
    "VON",
    "von",
    "Par",
    "PAR",
    "Di",
    "Por",
    "POR",
    "Door",
    "Av",
    "Af",
    "Oleh",
    "Przez",
    "Texte",
    "Text:",
    "Von:",
    "Autor:",
    "Author:",
)
# a label printed on its own before the name's element: "By <a>Jane Doe</a>", "<h5>Autor:</h5>"
_BYLINE_LABELS = (
    "By",
    "BY",
    "by",
    "Von",
    "von",
    "Par",
    "par",
    "Di",
    "Por",
    "Door",
    "Av",
    "Oleh",
    "Autor",
    "Autor:",
    "Autorin:",
    "Author",
    "Author:",
    "Auteur :",
    "Auteur:",
    "Autore:",
    "Text:",
    "Texto:",
    "Ein Artikel von",
    "Ein Beitrag von",
    "Written by",
    "Posted by",
    "Geschrieben von",
    "Publié par",
    "Scritto da",
    "Escrito por",
)
# near the headline only: the 80 text nodes after the first <h1>, so the cost stays bounded;
# the short ones are tested in Python (one XPath clause per byline word cost 1 ms a page)
_PREFIXED_XPATH = etree.XPath(
    "(//h1)[1]/following::text()[position() <= 80][string-length(normalize-space(.)) < 70]"
)
_PREFIXES = tuple(f"{w} " for w in _BYLINE_WORDS)
_LABELS = frozenset(_BYLINE_LABELS)
# the short lines right after the headline, where pages print their dateline whatever its
# markup: the first 25 non-empty text nodes after the first non-empty <h1> (bounded cost)
_AFTER_HEADLINE_XPATH = etree.XPath(
    "(//h1[normalize-space()])[1]/following::text()[position() <= 150][normalize-space()]"
    "[not(ancestor::script or ancestor::style or ancestor::noscript or ancestor::figcaption)]"
    "[position() <= 25]"
)
HEADLINE_DATELINE_MAX_CHARS = 80
_BARE_CLOCK = re.compile(r"^\d{1,2}[:h]\d{2}(?:\s*(?:[ap]\.?m\.?|uhr|h))?$", re.IGNORECASE)
_CLOCK = re.compile(r"\d{1,2}[:h]\d{2}\b")
# the line is the prefix and one to four capitalised words: "By Jane Doe", "Von Max Muster"
_PREFIXED_RE = re.compile(
    r"^(?:by|von|par|di|por|door|av|af|oleh|przez|texte?|autor(?:in)?|author|auteur|autore|"
    r"texto|ein artikel von|ein beitrag von|written by|posted by|geschrieben von|publié par|"
    r"scritto da|escrito por)\s*:?\s+"
    r"(?:[A-ZÀ-ÖØ-Þ][\w'’.-]+(?:(?:\s+|\s*[/,&]\s*)(?:[A-ZÀ-ÖØ-Þ][\w'’.-]+|de|da|van|von|der|"
    r"del|la|le|and|und|et|y|e)){0,7}|[^\W\d_][\w.-]{1,39})$",
    re.IGNORECASE,
)
# "Written by" / "Geschrieben von" label of a twitter:dataN meta (WordPress SEO plugins)
_WRITTEN_BY = re.compile(r"written|geschrieben|verfasst|écrit|escrito|scritto|autor|author|door")
# one walk over the classed elements finds datelines, bylines and headline elements together
_CLASSED_XPATH = "//*[@class or @itemprop='headline']"
PAGE_TYPES = frozenset({"webpage", "itempage", "collectionpage"})
# keys under which JSON-LD nests further nodes of the page
NESTED_KEYS = ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement", "hasPart")

# meta keys (name/property/itemprop, lower-cased) by field, in precedence order within "meta"
PUBLISHED_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "article:published",
    "datepublished",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "dc.date",
    "dcterms.date",
    "citation_publication_date",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "publication_date",
    "article.published",
    "article_date_original",
    "date_published",
    "cxenseparse:recs:publishtime",
    "originalpublicationdate",
    "og:published_time",
    "og:pubdate",
    "date",
    "dc:date",
)
MODIFIED_KEYS = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dcterms.modified",
    "dc.date.modified",
    "last-modified",
    "lastmod",
    "article.updated",
)
AUTHOR_KEYS = (
    "article:author",
    "author",
    "parsely-author",
    "sailthru.author",
    "dc.creator",
    "dcterms.creator",
    "byl",
    "cxenseparse:author",
    "citation_author",
    "twitter:creator:name",
    "twitter:written-by",
)
TITLE_KEYS = (
    "og:title",
    "parsely-title",
    "sailthru.title",
    "twitter:title",
    "dc.title",
    "headline",
)
SECTION_KEYS = ("article:section", "parsely-section", "section", "cxenseparse:recs:category")
TAG_KEYS = ("article:tag", "parsely-tags", "sailthru.tags", "news_keywords", "keywords")
DESCRIPTION_KEYS = ("og:description", "description", "twitter:description", "dc.description")
IMAGE_KEYS = ("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "image")
LANG_KEYS = ("og:locale", "content-language", "dc.language", "language", "inlanguage")


@dataclass(slots=True)
class JsonLdArticle:
    headline: str | None = None
    published: str | None = None
    modified: str | None = None
    authors: list[str] = field(default_factory=list)
    publisher: str | None = None
    section: str | None = None
    keywords: list[str] = field(default_factory=list)
    description: str | None = None
    image: str | None = None
    lang: str | None = None
    url: str | None = None
    is_article: bool = True
    # articleBody: the CMS's own copy of the text (plain or with markup)
    body: str | None = None


@dataclass(slots=True)
class PageMeta:
    meta: dict[str, list[str]] = field(default_factory=dict)
    jsonld: list[JsonLdArticle] = field(default_factory=list)
    html_lang: str | None = None
    canonical: str | None = None
    title_tag: str | None = None
    h1: list[str] = field(default_factory=list)
    # the first <h1> without the kicker element printed inside it, when it has one
    h1_headline: str | None = None
    # visible headline elements other than <h1>: itemprop=headline, class "...headline..."
    headlines: list[str] = field(default_factory=list)
    itemprop_authors: list[str] = field(default_factory=list)
    rel_authors: list[str] = field(default_factory=list)
    itemprop_published: list[str] = field(default_factory=list)
    datelines: list[str] = field(default_factory=list)
    # short lines with digits among the first lines after the headline, in document order
    headline_datelines: list[str] = field(default_factory=list)
    bylines: list[str] = field(default_factory=list)
    # short visible lines that open with a byline word: "By Jane Doe", "Von Max Muster"
    prefixed_bylines: list[str] = field(default_factory=list)
    time_published: list[str] = field(default_factory=list)
    website_name: str | None = None

    def first(self, keys: tuple[str, ...]) -> str | None:
        for key in keys:
            for value in self.meta.get(key, ()):
                if value.strip():
                    return value.strip()
        return None

    def all(self, keys: tuple[str, ...]) -> list[tuple[str, str]]:
        return [(k, v.strip()) for k in keys for v in self.meta.get(k, ()) if v.strip()]


def _text(el: HtmlElement) -> str:
    return " ".join(el.text_content().split())


def _spaced_text(el: HtmlElement) -> str:
    """The element's text with its child elements' texts kept apart: a dateline printed as
    ``<span>3 May 2022</span><span>21:25</span>`` reads "3 May 2022 21:25", not "202221:25"."""
    return " ".join(" ".join(el.itertext()).split())


def collect(tree: HtmlElement) -> PageMeta:
    page = PageMeta()
    root = tree.getroottree().getroot()
    page.html_lang = (root.get("lang") or root.get("xml:lang") or "").strip() or None
    for el in tree.iter("meta"):
        content = el.get("content")
        if content is None:
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = el.get(attr)
            if key:
                page.meta.setdefault(key.strip().lower(), []).append(content)
    for n in ("1", "2"):
        label = " ".join(page.meta.get(f"twitter:label{n}", [""])[:1]).casefold()
        data = page.meta.get(f"twitter:data{n}")
        if data and _WRITTEN_BY.search(label):
            page.meta.setdefault("twitter:written-by", []).extend(data)
    for el in tree.iter("link"):
        rel = (el.get("rel") or "").lower().split()
        if "canonical" in rel and el.get("href") and page.canonical is None:
            page.canonical = el.get("href", "").strip()
    title = tree.find(".//title")
    if title is not None:
        page.title_tag = _text(title) or None
    h1s = [(h, t) for h in tree.iter("h1") if (t := _text(h))][:3]
    page.h1 = [t for _, t in h1s]
    if h1s:
        page.h1_headline = _without_kicker(h1s[0][0])
    _read_classed(tree, page)
    _read_headline_datelines(tree, page)
    shown = 0
    for node in _PREFIXED_XPATH(tree):
        label = " ".join(str(node).split())
        if not label or not (label in _LABELS or label.startswith(_PREFIXES)):
            continue
        shown += 1
        if shown > 20 or len(page.prefixed_bylines) >= 2:
            break
        if label in _LABELS:
            name = _after_label(node)
            value = f"{label} {name}" if name else ""
        else:
            parent = node.getparent()
            value = _text(parent) if parent is not None else ""
        if _PREFIXED_RE.match(value) and len(page.prefixed_bylines) < 2:
            page.prefixed_bylines.append(value)
    for el in tree.xpath('//*[@itemprop="author" or @itemprop="creator"]'):
        if el.tag == "meta":
            continue
        names = el.xpath('.//*[@itemprop="name"]')
        value = (names[0].get("content") or _text(names[0])) if names else _text(el)
        if value and el.get("content") is None:
            page.itemprop_authors.append(value)
        elif el.get("content"):
            page.itemprop_authors.append(el.get("content", ""))
    for el in tree.xpath('//a[@rel="author"]'):
        value = _text(el)
        if value:
            page.rel_authors.append(value)
    for el in tree.xpath('//*[@itemprop="datePublished"][not(self::meta)]|//time[@pubdate]'):
        value = el.get("datetime") or el.get("content") or _text(el)
        if value:
            page.itemprop_published.append(value)
    for el in tree.xpath("//time[@datetime]"):
        page.time_published.append(el.get("datetime", ""))
    for script in tree.xpath(
        '//script[@type="application/ld+json" or @type="application/json+ld"]'
    ):
        _read_jsonld(script.text or "", page)
    return page


def _after_label(node: Any) -> str:
    """The text printed right after a byline label text node: the name's element or text."""
    el = node.getparent()
    if el is None:
        return ""
    following: str | None
    if node.is_tail:  # "<div class=date>…</div>By <a>Jane Doe</a>"
        nxt = el.getnext()
        following = _text(nxt) if nxt is not None else None
    else:
        children = [c for c in el if isinstance(c.tag, str)]
        if children:  # "<address>By <a>Jane Doe</a></address>"
            following = _text(children[0])
        elif el.tail and el.tail.strip():  # "<h5>Autor:</h5>Jane Doe"
            following = el.tail
        else:  # "<span>By</span><span><a>Jane Doe</a></span>"
            nxt = el.getnext()
            following = _text(nxt) if nxt is not None else None
    return " ".join((following or "").split()).strip(" ,;|-–—")[:70]


def _without_kicker(h1: HtmlElement) -> str | None:
    """The headline of an ``<h1>`` whose kicker is an element of its own, else None.

    ``<h1><span class="overline">Nahost</span><span aria-hidden="true"> – </span>
    <span>Headline</span></h1>``: readers see the kicker as a label above or before the
    headline, not as part of it. One iterative walk over the ``<h1>``; an ``<h1>`` of more
    than 200 elements is no headline to take apart (and no recursion on a hostile page).
    """
    if len(h1) == 0:
        return None  # text only: no element of its own to be a kicker
    hidden: set[Any] = set()
    parts: list[str] = []
    for count, (event, el) in enumerate(etree.iterwalk(h1, events=("start", "end"))):
        if count > 400:
            return None
        if not isinstance(el.tag, str):
            continue
        parent = el.getparent() if el is not h1 else None
        if event == "start":
            if parent is not None and (
                parent in hidden
                or _KICKER_CLASS.search(el.get("class") or "")
                or el.get("aria-hidden") == "true"
                or el.get("role") == "presentation"
            ):
                hidden.add(el)
            if el.text and el not in hidden:
                parts.append(el.text)
        elif parent is not None and el.tail and parent not in hidden:
            parts.append(el.tail)
    if not hidden:
        return None
    text = " ".join(" ".join(parts).split()).strip(" -–—:|·•")
    return text if text and text != _text(h1) else None


def _read_headline_datelines(tree: HtmlElement, page: PageMeta) -> None:
    """Up to three short lines with digits right after the headline (see ``PageMeta``).

    A line is its text node, or the whole parent element when that is short too, so a date and
    a clock in sibling elements are read together.
    """
    for node in _AFTER_HEADLINE_XPATH(tree):
        value = " ".join(str(node).split())
        if len(value) > HEADLINE_DATELINE_MAX_CHARS or not any(c.isdigit() for c in value):
            continue
        parent = node.getparent()
        if parent is not None and not node.is_tail:
            whole = _spaced_text(parent)
            if len(whole) <= HEADLINE_DATELINE_MAX_CHARS:
                value = whole
        lines = page.headline_datelines
        if lines and _BARE_CLOCK.match(value) and not _CLOCK.search(lines[-1]):
            lines[-1] = f"{lines[-1]} {value}"  # "3 May 2022" then "21:25" in the next element
        elif value not in lines:
            lines.append(value)
            if len(lines) >= 3:
                return


def _read_classed(tree: HtmlElement, page: PageMeta) -> None:
    """Datelines, bylines and headline elements, by class name, in document order.

    The first 20 dateline, 10 byline and 10 headline elements are looked at, as by class
    ``contains()`` tests in XPath, but in one pass over the classed elements.
    """
    datelines = bylines = headlines = 0
    for el in tree.xpath(_CLASSED_XPATH):
        tag = el.tag
        if not isinstance(tag, str):
            continue
        cls = el.get("class") or ""
        if (
            headlines < 10
            and tag not in ("meta", "script")
            and (_HEADLINE_RE.search(cls) or el.get("itemprop") == "headline")
        ):
            headlines += 1
            value = _text(el)
            if 3 <= len(value) <= 400 and value not in page.headlines and len(page.headlines) < 5:
                page.headlines.append(value)
        if not cls:
            continue
        if datelines < 20 and tag in _DATE_TAGS and _DATE_RE.search(cls):
            datelines += 1
            if len(page.datelines) < 3:
                value = _spaced_text(el)
                if 6 <= len(value) <= 80:
                    page.datelines.append(value)
        if bylines < 10 and tag in _BYLINE_TAGS and _BYLINE_RE.search(cls):
            bylines += 1
            if len(page.bylines) < 2:
                value = _text(el)
                if 3 <= len(value) <= 100:
                    page.bylines.append(value)
        if datelines >= 20 and bylines >= 10 and headlines >= 10:
            break


def load_jsonld(raw: str) -> Any:
    """A JSON-LD block as data, repairing the breakage CMSs commonly ship; None if unreadable."""
    raw = raw.strip()
    if not raw:
        return None
    raw = re.sub(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$", "", raw)
    try:
        return json.loads(raw)
    except ValueError:
        pass
    # common breakage: raw newlines/tabs inside strings, trailing commas
    cleaned = re.sub(r"[\n\r\t]+", " ", raw)
    cleaned = re.sub(r",\s*([}\]])", r"\1", cleaned)
    try:
        return json.loads(cleaned)
    except ValueError:
        logger.debug("unparseable JSON-LD block (%d chars)", len(raw))
        return None


def jsonld_types(obj: dict[str, Any]) -> set[str]:
    """``@type`` values, lower-cased, IRIs reduced to their last segment (schema.org/NewsArticle)."""
    value = obj.get("@type")
    values = value if isinstance(value, list) else [value]
    return {v.split("/")[-1].lower() for v in values if isinstance(v, str)}


def walk_jsonld(
    data: Any, *, follow: tuple[str, ...] = NESTED_KEYS, depth: int = 0
) -> list[dict[str, Any]]:
    """Every JSON object in the block, including ``@graph`` members and the nodes nested under
    the ``follow`` keys."""
    if depth > 6:
        return []
    out: list[dict[str, Any]] = []
    if isinstance(data, list):
        for item in data:
            out.extend(walk_jsonld(item, follow=follow, depth=depth + 1))
    elif isinstance(data, dict):
        out.append(data)
        for key in follow:
            if isinstance(data.get(key), (dict, list)):
                out.extend(walk_jsonld(data[key], follow=follow, depth=depth + 1))
    return out


def _str(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and value:
        return _str(value[0])
    if isinstance(value, dict):
        return _str(value.get("name") or value.get("@value") or value.get("url"))
    return None


def _names(value: Any, index: dict[str, dict[str, Any]], depth: int = 0) -> list[str]:
    if depth > 4 or value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [n for item in value for n in _names(item, index, depth + 1)]
    if isinstance(value, dict):
        if "name" not in value and isinstance(value.get("@id"), str) and value["@id"] in index:
            value = index[value["@id"]]
        name = value.get("name", value.get("@value"))
        if isinstance(name, (list, dict)):
            return _names(name, index, depth + 1)
        if isinstance(name, str) and name.strip():
            return [name]
        given, family = value.get("givenName"), value.get("familyName")
        if isinstance(given, str) and isinstance(family, str):
            return [f"{given} {family}"]
    return []


def _image(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        for item in value:
            found = _image(item)
            if found:
                return found
    if isinstance(value, dict):
        return _image(value.get("url") or value.get("contentUrl"))
    return None


def _keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return [k.strip() for k in re.split(r"[,;]", value) if k.strip()]
    if isinstance(value, list):
        return [k for item in value for k in _keywords(item)]
    return []


def _read_jsonld(raw: str, page: PageMeta) -> None:
    data = load_jsonld(raw)
    if data is None:
        return
    nodes = walk_jsonld(data)
    index = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str)}
    for node in nodes:
        types = jsonld_types(node)
        if "website" in types and page.website_name is None:
            page.website_name = _str(node.get("name"))
        is_article = bool(types & ARTICLE_TYPES)
        if not is_article and not (types & PAGE_TYPES):
            continue
        publisher = node.get("publisher")
        if isinstance(publisher, dict) and "name" not in publisher:
            publisher = index.get(str(publisher.get("@id")), publisher)
        page.jsonld.append(
            JsonLdArticle(
                headline=_str(node.get("headline")) or _str(node.get("name")),
                published=_str(node.get("datePublished")) or _str(node.get("dateCreated")),
                modified=_str(node.get("dateModified")),
                authors=_names(node.get("author") or node.get("creator"), index),
                publisher=_str(publisher),
                section=_str(node.get("articleSection")),
                keywords=_keywords(node.get("keywords")),
                description=_str(node.get("description")),
                image=_image(node.get("image") or node.get("thumbnailUrl")),
                lang=_str(node.get("inLanguage")),
                url=_str(node.get("url")),
                is_article=is_article,
                body=_str(node.get("articleBody")),
            )
        )
