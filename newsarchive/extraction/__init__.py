"""Page → Article: a pure, deterministic function (no I/O, no Scrapy).

Body text comes from trafilatura (comments excluded, paragraphs joined with "\\n"). Metadata is
collected from every source on the page (:mod:`.metadata`) and fused with this precedence; the
first source giving a usable value wins:

* title: JSON-LD ``headline`` → ``og:title`` and other title meta → trafilatura's title → the
  ``<title>`` tag; then a " | Site" / " - Site" suffix (or prefix) naming the site is removed.
* published: JSON-LD ``datePublished`` (``jsonld``) → ``article:published_time``, parse.ly,
  sailthru, Dublin Core and similar meta (``meta``) → ``itemprop=datePublished`` and ``<time>``
  elements (``microdata``) → htmldate's reading of the page, which covers visible datelines and
  URL dates (``htmldate``). ``modified`` follows the same order with the modified keys.
  A date after fetched_at + 1 day or before 1990 is never used: it is recorded in ``date_flags``
  (``future`` / ``before_1990``) and the next source is tried; if no source is plausible,
  ``published`` stays None (a wrong date is worse than none for an archive sorted by date).
* authors: the first source yielding a person among JSON-LD ``author`` → author meta
  (``article:author``, ``author``, parse.ly, sailthru, Dublin Core) → ``itemprop=author`` →
  ``rel=author`` → the visible byline trafilatura found. Agencies and desks in that source go to
  ``organisations`` (see :mod:`.authors`).
* lang: ``<html lang>`` → ``og:locale`` / content-language → JSON-LD ``inLanguage`` → a
  script/stop-word guess on the body.
* canonical_url: ``rel=canonical`` → ``og:url`` → JSON-LD ``url``, each only when on the page's
  registered domain; else the page URL. Always spelled by
  :func:`newsarchive.discovery.urls.canonicalize_url`, so an article's canonical URL is the crawler's own
  spelling of that page.
* site_name: ``og:site_name`` → JSON-LD ``WebSite``/publisher name → trafilatura's sitename.
"""

from __future__ import annotations

import logging
import re
import warnings
from copy import deepcopy
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from newsarchive.discovery.urls import canonicalize_url, registered_domain
from newsarchive.extraction import dates
from newsarchive.extraction.authors import split_authors
from newsarchive.extraction.charset import decode_html
from newsarchive.extraction.companies import find_companies
from newsarchive.extraction.lang import guess_language
from newsarchive.extraction.metadata import (
    AUTHOR_KEYS,
    DESCRIPTION_KEYS,
    IMAGE_KEYS,
    LANG_KEYS,
    MODIFIED_KEYS,
    PUBLISHED_KEYS,
    SECTION_KEYS,
    TAG_KEYS,
    TITLE_KEYS,
    PageMeta,
    collect,
)
from newsarchive.items import Article

if TYPE_CHECKING:
    from lxml.html import HtmlElement

__all__ = ["extract", "extract_tree", "parse_html"]

logger = logging.getLogger(__name__)

MIN_BODY_CHARS = 20
_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:·»•/]{1,2}\s+")


def extract(
    html: bytes | str,
    url: str,
    fetched_at: datetime | None = None,
    *,
    encoding: str | None = None,
    lang_hint: str | None = None,
) -> Article | None:
    """Extract one article; None when the page has no article body (or is not HTML at all)."""
    tree = parse_html(html, encoding)
    if tree is None:
        return None
    return extract_tree(tree, url, fetched_at, lang_hint=lang_hint)


def parse_html(html: bytes | str, encoding: str | None = None) -> HtmlElement | None:
    """The page's tree (decoded by our charset rules), or None when it is not HTML at all."""
    text = decode_html(html, encoding)
    if text is None:
        return None
    from trafilatura.utils import load_html

    tree: HtmlElement | None = load_html(text)
    return tree


def extract_tree(
    tree: HtmlElement,
    url: str,
    fetched_at: datetime | None = None,
    *,
    lang_hint: str | None = None,
    copy: bool = True,
) -> Article | None:
    """:func:`extract` on a parsed page. trafilatura rewrites the tree it works on: with
    ``copy=False`` the caller hands the tree over (saves a deep copy when it needs it no more)."""
    page = collect(tree)
    doc = _trafilatura(deepcopy(tree) if copy else tree, url, fetched_at)
    if doc is None or not doc.text or len(doc.text.strip()) < MIN_BODY_CHARS:
        return None
    body = _clean_body(doc.text)

    lang = _page_lang(page) or lang_hint or guess_language(body)
    site_name = (
        page.first(("og:site_name", "application-name", "al:android:app_name"))
        or page.website_name
        or _first(a.publisher for a in page.jsonld)
        or doc.sitename
    )
    title = _title(page, doc.title, site_name, url)
    body = _drop_leading_furniture(body, title, page, doc.author)
    if len(body) < MIN_BODY_CHARS:
        return None
    languages = dates.language_list(lang, lang_hint)
    published, source, flags = _published(page, doc.date, languages, fetched_at)
    modified = _modified(page, languages, fetched_at)
    people, orgs = _authors(page, doc.author)
    description = _first(a.description for a in page.jsonld) or page.first(DESCRIPTION_KEYS)
    article = Article(
        url=url,
        canonical_url=_canonical(page, url),
        title=title,
        body=body,
        published=published,
        modified=modified,
        date_source=source,
        date_flags=flags,
        authors=people,
        organisations=orgs,
        lang=_short_lang(lang),
        description=description or doc.description or None,
        image=_image(page, url) or doc.image or None,
        section=_first(a.section for a in page.jsonld)
        or page.first(SECTION_KEYS)
        or (doc.categories[0] if doc.categories else None),
        tags=_tags(page, doc.tags),
        site_name=site_name,
    )
    article.companies = find_companies(title, body)
    return article


def _trafilatura(tree: HtmlElement, url: str, fetched_at: datetime | None):  # type: ignore[no-untyped-def]
    import trafilatura

    max_date = (fetched_at or datetime.now()) + timedelta(days=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return trafilatura.bare_extraction(
            tree,
            url=url,
            include_comments=False,
            include_tables=True,
            with_metadata=True,
            deduplicate=False,
            date_extraction_params={
                "extensive_search": True,
                "original_date": True,
                "max_date": max_date.strftime("%Y-%m-%d"),
            },
        )


KICKER_MAX_LINES = 2
KICKER_MAX_WORDS = 4


def _clean_body(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def _drop_leading_furniture(
    body: str, title: str | None, page: PageMeta, byline: str | None
) -> str:
    """Drop headline, byline and dateline lines trafilatura kept at the top of the body.

    They are fields of their own; left in the body they skew dedupe and search snippets.
    """
    furniture = {_norm(v) for v in [title, byline, *page.bylines, *page.datelines] if v}
    furniture.discard("")
    lines = body.split("\n")
    # A kicker (section label, "Exclusive", a breadcrumb) printed above the headline goes too:
    # only short lines, and only when the headline itself follows them.
    headline = _norm(title) if title else ""
    for i, line in enumerate(lines[: KICKER_MAX_LINES + 1]):
        if headline and _norm(line) == headline and i < len(lines) - 1:
            if all(len(kicker.split()) <= KICKER_MAX_WORDS for kicker in lines[:i]):
                lines = lines[i:]
            break
    dropped = 0
    while dropped < 3 and len(lines) - dropped > 1 and _norm(lines[dropped]) in furniture:
        dropped += 1
    return "\n".join(lines[dropped:])


def _first(values) -> str | None:  # type: ignore[no-untyped-def]
    for value in values:
        if value:
            return str(value)
    return None


def _page_lang(page: PageMeta) -> str | None:
    return page.html_lang or page.first(LANG_KEYS) or _first(a.lang for a in page.jsonld)


def _short_lang(lang: str | None) -> str | None:
    if not lang:
        return None
    code = lang.strip().replace("_", "-").split("-")[0].lower()
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def _strip_site(title: str, site_name: str | None, url: str) -> str:
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    host = _norm(urlsplit(url).hostname or "")
    site = _norm(site_name or "")

    def is_site(part: str) -> bool:
        key = _norm(part)
        if not key:
            return True
        if site and (key == site or key in site or site in key):
            return True
        return len(key) >= 3 and key in host

    head, tail = parts[0], parts[-1]
    if is_site(tail) and not is_site(head):
        cut = title.rfind(tail)
        return _TITLE_SEPARATORS.sub("", title[:cut].rstrip(), count=0).strip() or title
    if is_site(head) and not is_site(tail):
        return title[len(head) :].lstrip(" |-–—:·»•/").strip() or title
    return title


def _title(page: PageMeta, traf_title: str | None, site_name: str | None, url: str) -> str | None:
    candidates = [a.headline for a in page.jsonld if a.is_article]
    candidates += [page.first(TITLE_KEYS), traf_title, page.title_tag]
    for candidate in candidates:
        if candidate and candidate.strip():
            title = " ".join(candidate.split())
            stripped = _strip_site(title, site_name, url)
            return _trim_separator(stripped)
    return None


def _trim_separator(title: str) -> str:
    return re.sub(r"\s+[|\-–—:·»•/]{1,2}\s*$", "", title).strip()


def _published(
    page: PageMeta,
    htmldate_value: str | None,
    languages: tuple[str, ...],
    fetched_at: datetime | None,
) -> tuple[datetime | None, str | None, list[str]]:
    sources: list[tuple[str, str | None]] = [
        ("jsonld", a.published) for a in page.jsonld if a.is_article
    ]
    sources += [("meta", v) for _, v in page.all(PUBLISHED_KEYS)]
    sources += [("jsonld", a.published) for a in page.jsonld if not a.is_article]
    sources += [("microdata", v) for v in page.itemprop_published[:2]]
    # the first <time datetime> is usually the article's; later ones date comments and sidebars
    sources += [("microdata", v) for v in page.time_published[:1]]
    sources.append(("htmldate", htmldate_value))
    # visible datelines: human dates in the page language, relative ones against fetched_at
    sources += [("byline", v) for v in page.datelines]
    flags: list[str] = []
    parsed: list[tuple[str, str, datetime]] = []
    for source, raw in sources:
        value = dates.parse_date(raw, languages, fetched_at)
        if raw is None or value is None:
            continue
        flag = dates.implausible(value, fetched_at)
        if flag:
            if flag not in flags:
                flags.append(flag)
            continue
        parsed.append((source, raw, value))
    if not parsed:
        return None, None, flags
    source, _, value = parsed[0]
    if source != "htmldate":
        value = dates.local_offset(value, [(raw, v) for s, raw, v in parsed[1:] if s != "htmldate"])
    return value, source, flags


def _modified(
    page: PageMeta, languages: tuple[str, ...], fetched_at: datetime | None
) -> datetime | None:
    raws = [a.modified for a in page.jsonld] + [v for _, v in page.all(MODIFIED_KEYS)]
    for raw in raws:
        value = dates.parse_date(raw, languages, fetched_at)
        if value is not None and dates.implausible(value, fetched_at) is None:
            return value
    return None


def _authors(page: PageMeta, byline: str | None) -> tuple[list[str], list[str]]:
    meta_authors = [v for _, v in page.all(AUTHOR_KEYS) if not re.match(r"https?://", v)]
    sources: list[list[str]] = [
        [n for a in page.jsonld if a.is_article for n in a.authors],
        meta_authors,
        page.itemprop_authors,
        page.rel_authors[:3],
        page.bylines[:1],
        [byline.replace(";", ",")] if byline else [],
    ]
    first_orgs: list[str] = []
    for raw in sources:
        people, orgs = split_authors(raw)
        if people:
            return people, orgs
        if orgs and not first_orgs:
            first_orgs = orgs
    return [], first_orgs


def _same_site(candidate: str, url: str) -> bool:
    parts = urlsplit(candidate)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return registered_domain(candidate) == registered_domain(url)


def _canonical(page: PageMeta, url: str) -> str:
    candidates = [page.canonical, page.first(("og:url",))] + [a.url for a in page.jsonld]
    for candidate in candidates:
        if not candidate:
            continue
        absolute = urljoin(url, candidate.strip())
        if _same_site(absolute, url):
            return canonicalize_url(absolute)
    return canonicalize_url(url)


def _image(page: PageMeta, url: str) -> str | None:
    raw = _first(a.image for a in page.jsonld if a.is_article) or page.first(IMAGE_KEYS)
    return urljoin(url, raw) if raw else None


def _tags(page: PageMeta, traf_tags: list[str] | None) -> list[str]:
    raw: list[str] = [k for a in page.jsonld if a.is_article for k in a.keywords]
    for _, value in page.all(TAG_KEYS):
        raw.extend(re.split(r"[,;]", value) if "," in value or ";" in value else [value])
    raw.extend(k for tag in traf_tags or [] for k in re.split(r"[,;]", tag))
    seen: dict[str, str] = {}
    for tag in raw:
        tag = " ".join(tag.split()).strip(" #")
        if tag and len(tag) <= 60 and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return list(seen.values())[:30]
