"""Page → Article: a pure, deterministic function (no I/O, no Scrapy).

Why one module of this size: it is the fusion of every field's sources, in the precedence below;
the readers of each source are in the modules beside it (metadata, dates, authors, lang,
companies), and what remains here is the one place where their answers are weighed.

Body text comes from trafilatura (comments excluded, paragraphs joined with "\\n"); when it finds
none, from the text the page ships as data (JSON-LD, ``<noscript>``, application state:
:mod:`.fallback`). Metadata is collected from every source on the page (:mod:`.metadata`) and
fused with this precedence; the first source giving a usable value wins:

* title: JSON-LD ``headline`` → ``og:title`` and other title meta → trafilatura's title → the
  ``<title>`` tag; then a " | Site" / " - Site" suffix (or prefix) naming the site is removed.
* published: JSON-LD ``datePublished`` (``jsonld``) → ``article:published_time``, parse.ly,
  sailthru, Dublin Core and similar meta (``meta``) → ``itemprop=datePublished`` and ``<time>``
  elements (``microdata``) → the visible dateline (``byline``) → htmldate's reading of the page
  (``htmldate``) → the URL's date (``url``). The visible dateline is the short line printed
  right after the headline (any markup), else the elements classed as datelines when they
  agree on one day; when it gives another day than the first structured date, general evidence
  decides (:func:`_reconcile`: the URL, other structured dates, ``dateModified``, updated-at
  wording, generic keys such as ``<meta name="date">`` being weak), and a printed clock gives
  a UTC timestamp the publisher's offset. ``modified`` follows the structured order with the
  modified keys.
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
* credits: who the page says it copies (attribution lines, cross-domain ``rel=canonical``,
  JSON-LD ``isBasedOn``/``sourceOrganization``), see :mod:`.attribution`.
"""

from __future__ import annotations

import logging
import re
import warnings
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from newsarchive.discovery.urls import canonicalize_url, registered_domain
from newsarchive.extraction import dates
from newsarchive.extraction.attribution import find_credits
from newsarchive.extraction.authors import split_authors
from newsarchive.extraction.body import (
    drop_link_lines,
    drop_repeated_lines,
    drop_top_furniture,
    fuller_body,
    link_texts,
)
from newsarchive.extraction.charset import decode_html
from newsarchive.extraction.entities import article_entities
from newsarchive.extraction.fallback import NO_METADATA, fallback_body
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
from newsarchive.extraction.text import (
    NAME_MAX_CHARS,
    TITLE_MAX_CHARS,
    URL_MAX_CHARS,
    clean_line,
    clean_text,
    clean_url,
)
from newsarchive.extraction.topics import tag_topics
from newsarchive.extraction.trafilatura_reading import categories, read_page
from newsarchive.extraction.tree import load_tree
from newsarchive.items import Article

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from lxml.html import HtmlElement

__all__ = ["extract", "extract_tree", "parse_html"]

logger = logging.getLogger(__name__)

MIN_BODY_CHARS = 20
_SEPARATOR_CHARS = "|\\-–—:·»•/│｜~"
_TITLE_SEPARATORS = re.compile(rf"\s+[{_SEPARATOR_CHARS}]{{1,2}}\s+")
# where a kicker ends: a title separator, or a colon closing the kicker ("Brexit: …", "Nahost – …")
_KICKER_END = re.compile(
    rf"\s+[{_SEPARATOR_CHARS}]{{1,2}}\s+|(?<=\w)[:：]\s+|(?<=[\"“”»«])[:：]?\s+"
)
# a headline shorter than this is too weak a witness for the kicker and fallback rules
HEADLINE_MIN_CHARS = 12


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
    # bare_extraction copies a tree it is handed (trafilatura.core), so this tree stays intact
    return extract_tree(tree, url, fetched_at, lang_hint=lang_hint, copy=False)


def parse_html(html: bytes | str, encoding: str | None = None) -> HtmlElement | None:
    """The page's tree (decoded by our charset rules), or None when it is not HTML at all."""
    text = decode_html(html, encoding)
    if text is None:
        return None
    return load_tree(text)


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
    reading = read_page(deepcopy(tree) if copy else tree, url, fetched_at)
    doc: Any = reading.doc if reading is not None else None
    byline = reading.byline if reading is not None else _no_byline
    text = doc.text if doc is not None else None
    if not text or len(text.strip()) < MIN_BODY_CHARS:
        # a page its scripts render: the text it ships as data (JSON-LD, state, noscript)
        text = fallback_body(tree)
        if text is None:
            return None
        doc = doc if doc is not None else NO_METADATA
    body = _clean_body(text)
    body = fuller_body(body, (a.body for a in page.jsonld if a.is_article))
    body = drop_repeated_lines(drop_link_lines(body, link_texts(tree)))

    lang = _page_lang(page) or lang_hint or guess_language(body)
    site_name = (
        page.first(("og:site_name", "application-name", "al:android:app_name"))
        or page.website_name
        or _first(a.publisher for a in page.jsonld)
        or doc.sitename
    )
    title = _title(page, doc.title, site_name, url)
    body = _drop_leading_furniture(body, title, page, byline)
    if len(body) < MIN_BODY_CHARS:
        return None
    languages = dates.language_list(lang, lang_hint)
    published, source, flags = _published(page, doc.date, languages, fetched_at, url)
    if published is None:
        # htmldate's extensive search (free-text dates, dateparser over all languages) costs
        # more than the rest of the metadata: only for the minority of pages nothing else dates
        deep = _extensive_date(tree, fetched_at, languages)
        if deep:
            published, source, flags = _published(page, deep, languages, fetched_at, url)
    modified = _modified(page, languages, fetched_at)
    publishers = [
        v
        for v in (site_name, page.website_name, doc.sitename, *(a.publisher for a in page.jsonld))
        if v
    ]
    people, orgs = _authors(page, byline, publishers, url)
    body = drop_top_furniture(body, [title, *page.h1], people, [*page.bylines, *page.datelines])
    description = _first(a.description for a in page.jsonld) or page.first(DESCRIPTION_KEYS)

    def category() -> str | None:
        """trafilatura's first category: searched for only when the page names no section."""
        found = categories(tree, doc) if doc is not NO_METADATA else []
        return found[0] if found else None

    article = Article(
        url=url,
        canonical_url=_canonical(page, url),
        title=title,
        body=body,  # cleaned by _clean_body
        published=published,
        modified=modified,
        date_source=source,
        date_flags=flags,
        authors=people,
        organisations=orgs,
        lang=_short_lang(lang),
        description=clean_line(description or doc.description),
        image=clean_url(_image(page, url) or doc.image),
        section=clean_line(
            _first(a.section for a in page.jsonld) or page.first(SECTION_KEYS) or category(),
            NAME_MAX_CHARS,
        ),
        tags=_tags(page, doc.tags),
        site_name=clean_line(site_name, NAME_MAX_CHARS),
    )
    article.companies = article_entities(title, body).companies
    article.topics = tag_topics(title, body, article.companies)
    article.credits = find_credits(tree, url)
    return article


def _extensive_date(
    tree: HtmlElement, fetched_at: datetime | None, languages: tuple[str, ...]
) -> str | None:
    """htmldate's extensive search, its dateparser told the page's languages.

    Unhinted, htmldate's dateparser guesses among ~200 languages for every free-text date
    (hundreds of milliseconds a call); :func:`dates.hinted_external_parser` swaps in a parser
    limited to ``languages`` for the duration of the call.
    """
    from htmldate import find_date

    max_date = (fetched_at or datetime.now()) + timedelta(days=1)
    with warnings.catch_warnings(), dates.hinted_external_parser(languages):
        warnings.simplefilter("ignore")
        try:
            found = find_date(
                tree,  # htmldate cleans a copy of a tree it is handed
                extensive_search=True,
                original_date=True,
                max_date=max_date.strftime("%Y-%m-%d"),
            )
        except (ValueError, TypeError) as exc:
            logger.debug("htmldate failed: %s", exc)
            return None
    return str(found) if found else None


KICKER_MAX_LINES = 2
KICKER_MAX_WORDS = 4


def _clean_body(text: str) -> str:
    lines = [" ".join(line.split()) for line in clean_text(text).splitlines()]
    return "\n".join(line for line in lines if line)


def _no_byline(chars: int | None = None) -> str | None:
    return None


def _drop_leading_furniture(
    body: str, title: str | None, page: PageMeta, byline: Callable[[int | None], str | None]
) -> str:
    """Drop headline, byline and dateline lines trafilatura kept at the top of the body.

    They are fields of their own; left in the body they skew dedupe and search snippets.
    ``byline`` is trafilatura's (:meth:`Reading.byline`), asked for only about a line that
    could be it.
    """
    furniture = {_norm(v) for v in [title, *page.bylines, *page.datelines] if v}
    furniture.discard("")

    def is_furniture(line: str) -> bool:
        key = _norm(line)
        if key in furniture:
            return True
        found = byline(len(key)) if key else None
        return bool(found) and _norm(found or "") == key

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
    while dropped < 3 and len(lines) - dropped > 1 and is_furniture(lines[dropped]):
        dropped += 1
    return "\n".join(lines[dropped:])


def _first(values: Iterable[Any]) -> str | None:
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
    """``title`` without the site's name at its end or start ("Headline | Site", "Site: …").

    A site name may itself hold a separator ("AOC media - Analyse Opinion Critique") and sites
    append several parts ("Headline - Section | Site"): parts naming the site are cut one by
    one, from either end, while something that is not the site remains. Only the first cut
    may take a part that merely contains the site's name ("Example Online"); later ones need
    the name itself, so a headline that begins with the site's name keeps it.
    """
    for attempt in range(3):
        stripped = _strip_site_once(title, site_name, url, strict=attempt > 0)
        if stripped == title:
            return title
        title = stripped
    return title


def _strip_site_once(title: str, site_name: str | None, url: str, *, strict: bool) -> str:
    host = _norm(urlsplit(url).hostname or "")
    site = _norm(site_name or "")

    def is_site(part: str, strict: bool) -> bool:
        key = _norm(part)
        if not key:
            return True
        if site and (key == site or key in site or (site in key and not strict)):
            return True
        return len(key) >= 3 and key in host

    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) >= 2:
        head, tail = parts[0], parts[-1]
        if is_site(tail, strict) and not is_site(head, strict):
            cut = title.rfind(tail)
            return _trim_separator(title[:cut]) or title
        if is_site(head, strict) and not is_site(tail, strict):
            rest = title[len(head) :].lstrip(" " + _SEPARATOR_CHARS.replace("\\", ""))
            return rest.strip() or title
    # "Site: Headline": a colon ends the site's name only when it is the name itself
    prefix = re.match(r"(.{2,60}?)[:：]\s+(?=\S)", title)
    key = _norm(prefix.group(1)) if prefix else ""
    if prefix and key and (key == site or (len(key) >= 3 and key in host)):
        return title[prefix.end() :]
    return title


def _title(page: PageMeta, traf_title: str | None, site_name: str | None, url: str) -> str | None:
    """The headline readers saw: the metadata title that agrees with a visible headline.

    JSON-LD ``headline``, ``og:title`` and the other title meta, trafilatura's title and the
    ``<title>`` tag often disagree (an SEO headline, a social headline, a kicker prefixed, the
    site name appended). In this order:

    * the first visible headline, in document order (``<h1>`` first, then ``itemprop=headline``
      and elements classed as headlines), that a candidate equals wins, spelled as printed (a
      kicker the publisher's own metadata joins to the headline is part of it);
    * else the first ``<h1>`` without its kicker, when the page prints the kicker as an element
      of its own inside the ``<h1>`` (see :func:`.metadata.collect`);
    * a visible ``<h1>`` contained in a candidate (that headline plus a kicker or the site
      name), when it agrees with the first candidate;
    * the page's first ``<h1>`` when no candidate agrees with any visible headline but the
      ``<h1>`` shares most of its words with one, or all of its three or more words (an SEO or
      social variant of the printed headline: readers saw the ``<h1>``); an ``<h1>`` naming the
      site is no headline, and an ``<h1>`` that is a kicker and a candidate gives the candidate;
    * without ``<h1>`` or title metadata, the page's one headline element;
    * else the first candidate.

    A page without title metadata whose ``<h1>`` ends its ``<title>`` prints the site's name
    there (:func:`_banner`): that ``<h1>`` is treated as the site name.
    """
    metadata = [a.headline for a in page.jsonld if a.is_article]
    metadata += [v for _, v in page.all(TITLE_KEYS)]
    title_tag = clean_line(page.title_tag, TITLE_MAX_CHARS)
    visible = [v for v in (clean_line(h, TITLE_MAX_CHARS) for h in page.h1 + page.headlines) if v]
    h1s = visible[: len(page.h1)]
    banner = _banner(title_tag, h1s, traf_title) if not any(metadata) else None
    if banner is not None:
        # the page's <h1> is the site's own name, repeated at the end of its <title>
        site_name = banner
        h1s = [h for h in h1s if _norm(h) != _norm(banner)]
        visible = h1s + visible[len(page.h1) :]
    candidates: list[str] = []
    for value in [*metadata, traf_title, title_tag]:
        line = clean_line(value, TITLE_MAX_CHARS)
        if line:
            title = _trim_separator(_strip_site(line, site_name, url))
            if title and title not in candidates and title != banner:
                candidates.append(title)
    # the visible headlines in document order (<h1> first): the first one a candidate equals
    for heading in visible:
        key = _norm(heading)
        if not key:
            continue
        for title in candidates:
            if _norm(title) == key:
                # as printed (its dashes and quotes), unless the page's markup lost punctuation
                return heading if len(heading) >= len(title) else title
    marked = clean_line(page.h1_headline, TITLE_MAX_CHARS)
    if marked and len(marked) >= HEADLINE_MIN_CHARS and candidates:
        return marked
    for heading in h1s:
        key = _norm(heading)
        if len(key) < 10 or not candidates:
            continue
        # the <h1> inside a candidate (plus a kicker or the site's name), provided it agrees
        # with the first candidate: a <title> may also start with a section's name
        first = _norm(candidates[0])
        agrees = first in key or key in first
        if any(key in _norm(c) for c in (candidates if agrees else candidates[:1])):
            return heading
    printed = _printed_headline(h1s, candidates, site_name, url)
    if printed is not None:
        return printed
    lone = visible[len(page.h1) :] if not page.h1 and not any(metadata) else []
    # no <h1> and no title metadata: the page's one headline element is what readers saw,
    # unless it holds the candidate (a trail ending with it: "Home / News / Headline")
    if (
        len(lone) == 1
        and _reads_as_headline(lone[0])
        and candidates
        and _norm(candidates[0]) not in _norm(lone[0])
    ):
        return lone[0]
    return candidates[0] if candidates else None


def _reads_as_headline(text: str) -> bool:
    """Three words or more, no breadcrumb trail: a sentence-like line, not a label."""
    return len(text.split()) >= 3 and not re.search(r"\s[/>»›]\s", text)


def _banner(title_tag: str | None, h1s: list[str], traf_title: str | None) -> str | None:
    """The site's name when a page without title metadata prints it as its first ``<h1>``.

    Small sites print their name as the page's ``<h1>`` and end every ``<title>`` with it
    ("Muffin basics : Muffin Recipes" under ``<h1>Muffin Recipes</h1>``): that ``<h1>`` is a
    banner, and the rest of the ``<title>`` is the page's own title.
    """
    if not title_tag or not h1s:
        return None
    parts = _TITLE_SEPARATORS.split(title_tag)
    if len(parts) < 2 or _norm(parts[-1]) != _norm(h1s[0]) or not _norm(parts[0]):
        return None
    # "News - Headline" under <h1>Headline</h1>: a one-word head is a section, the <h1> the title
    if len(parts[0].split()) < 2 and _norm(traf_title or "") == _norm(h1s[0]):
        return None
    return h1s[0]


def _words(text: str) -> set[str]:
    words = set(re.findall(r"\w+", text.casefold()))
    if len(words) <= 1 and len(text) > 6:
        return {text[i : i + 2] for i in range(len(text) - 1)}  # no spaces: CJK, Thai
    return words


def _printed_headline(
    h1s: list[str], candidates: list[str], site_name: str | None, url: str
) -> str | None:
    """The first ``<h1>`` that is a variant of a metadata title, when none equals a headline."""
    for heading in h1s:
        if len(heading) < HEADLINE_MIN_CHARS or _strip_site(heading, site_name, url) != heading:
            continue
        if site_name and _norm(heading) in _norm(site_name):
            continue
        tails = {_norm(heading[m.end() :]) for m in _KICKER_END.finditer(heading)}
        for candidate in candidates:
            if _norm(candidate) in tails:
                return candidate  # the <h1> is a kicker and this headline
        words = _words(heading)
        for candidate in candidates:
            other = _words(candidate)
            common = len(words & other)
            if words and other and common >= 0.6 * max(len(words), len(other)):
                return heading
            if len(words) >= 3 and common == len(words):
                return heading  # the candidate is the headline with more words around it
        return None  # the page's headline is unrelated to its metadata: not a variant
    return None


def _trim_separator(title: str) -> str:
    trimmed = re.sub(rf"\s+[{_SEPARATOR_CHARS}]{{1,2}}\s*$", "", title).strip()
    if trimmed.endswith("»") is False and title.rstrip().endswith("»") and "«" in trimmed:
        return title.strip()  # the closing guillemet of a quotation, not a separator
    return trimmed


# generic date keys: CMSs fill them with the page's generation or last-change time as often as
# with the publication; a visible dateline outweighs them
WEAK_PUBLISHED_KEYS = frozenset({"date", "dc.date", "dcterms.date", "dc:date"})


@dataclass(slots=True, frozen=True)
class _Seen:
    """The page's visible publication dateline: its wall-clock reading (labelled UTC), the
    other reading of an ambiguous numeric date, the line, and whether it is printed right
    after the headline (rather than found by class name anywhere on the page)."""

    value: datetime
    other: datetime | None
    raw: str
    near_headline: bool


def _published(
    page: PageMeta,
    htmldate_value: str | None,
    languages: tuple[str, ...],
    fetched_at: datetime | None,
    url: str,
) -> tuple[datetime | None, str | None, list[str]]:
    """The publication time, its source and the flags of the dates refused on the way.

    Structured dates come first in the documented order, but a visible dateline (not an
    "updated" one) that disagrees with them is weighed against independent evidence by
    :func:`_reconcile`. Without a structured date the page's own visible dateline is preferred
    to htmldate's reading, which is preferred to a bare URL date.
    """
    sources: list[tuple[str, str | None, bool]] = [
        ("jsonld", a.published, False) for a in page.jsonld if a.is_article
    ]
    # a key's first value only: further values of one key date the teasers of a list
    sources += [
        ("meta", page.meta[k][0].strip(), k in WEAK_PUBLISHED_KEYS)
        for k in PUBLISHED_KEYS
        if page.meta.get(k) and page.meta[k][0].strip()
    ]
    sources += [("jsonld", a.published, True) for a in page.jsonld if not a.is_article]
    # the first <time datetime> is usually the article's; later ones date comments and sidebars.
    # When the first three fall on different days, they are a list (comments, teasers) and the
    # first one is as likely the list's as the article's: neither source is trusted then.
    # (a list's first <time> still dates the article when nothing else does: see below)
    if _one_day(page.itemprop_published):
        sources += [("microdata", v, False) for v in page.itemprop_published[:2]]
    listed_time = None if _one_day(page.time_published) else page.time_published[0]
    if listed_time is None:
        sources += [("time", v, False) for v in page.time_published[:1]]
    flags: list[str] = []

    def plausible(raw: str | None) -> datetime | None:
        value = dates.parse_date(raw, languages, fetched_at)
        return value if value is not None and _allowed(value, fetched_at, flags) else None

    structured = [
        _Candidate(s, raw, v, weak)
        for s, raw, weak in sources
        if raw and (v := plausible(raw)) is not None
    ]
    htmldate = plausible(htmldate_value) if htmldate_value else None
    seen = _visible_dateline(page, languages, fetched_at, flags, relative=htmldate is None)
    if seen is not None and seen.near_headline and listed_time is not None:
        # a line after the headline on the day of a later <time> of a list is that teaser's
        teasers = {v.strip()[:10] for v in page.time_published[1:]}
        if seen.value.date().isoformat() in teasers - {listed_time.strip()[:10]}:
            seen = _visible_dateline(page, languages, fetched_at, flags, relative=False, near=False)
    url_day = dates.url_day(url)
    listed = plausible(listed_time) if listed_time else None
    if structured:
        chosen = structured[0]
        witnesses = [(c.raw, c.value) for c in structured[1:]]
        if listed is not None and listed_time:
            witnesses.append((listed_time, listed))  # it may state the same instant locally
        # the printed clock of that instant: the headline's dateline, the classed datelines
        if seen is not None and dates.has_clock(seen.raw):
            witnesses.append((seen.raw, seen.value))
        witnesses += [
            (line, v)
            for line in page.datelines[:3]
            if dates.has_clock(line)
            and not dates.is_update_line(line)
            and (v := dates.parse_date(line, languages, fetched_at))
        ]
        chosen = chosen._replace(value=dates.local_offset(chosen.value, witnesses))
        modified = [
            v
            for raw in _modified_raws(page)
            if (v := dates.parse_date(raw, languages, fetched_at)) is not None
        ]
        value, source = _reconcile(chosen, structured[1:], modified, seen, htmldate, url_day)
        return value, "microdata" if source == "time" else source, flags
    if seen is not None:
        return seen.value, "byline", flags
    if listed is not None:
        return listed, "microdata", flags
    if htmldate is not None:
        return htmldate, "htmldate", flags
    if url_day is not None:
        value = datetime(url_day.year, url_day.month, url_day.day, tzinfo=UTC)
        if dates.implausible(value, fetched_at) is None:
            return value, "url", flags
    return None, None, flags


class _Candidate(NamedTuple):
    source: str
    raw: str
    value: datetime
    weak: bool  # a generic key (``<meta name="date">``) or a non-article JSON-LD node


def _allowed(value: datetime, fetched_at: datetime | None, flags: list[str]) -> bool:
    """Whether a date can be this page's publication date; a refusal is recorded in flags."""
    flag = dates.implausible(value, fetched_at)
    if flag and flag not in flags:
        flags.append(flag)
    return flag is None


def _visible_dateline(
    page: PageMeta,
    languages: tuple[str, ...],
    fetched_at: datetime | None,
    flags: list[str],
    *,
    relative: bool,
    near: bool = True,
) -> _Seen | None:
    """The publication date the page prints.

    First a short line right after the headline that states a full date, whatever its markup
    (:func:`dates.visible_date`); else the elements classed as datelines anywhere on the page,
    when those (not "updated" ones) agree on one day — datelines on several days date a list of
    teasers, not this article. A relative dateline ("vor 2 Stunden") counts only when
    ``relative`` (nothing else dates the page).
    """
    locale = _page_lang(page)
    for line in page.headline_datelines if near else ():
        read = dates.visible_date(line, locale)
        if read is not None and _allowed(read[0], fetched_at, flags):
            return _Seen(read[0], read[1], line, near_headline=True)
    lines = [line for line in page.datelines if not dates.is_update_line(line)]
    if not relative:
        lines = [line for line in lines if not dates.is_relative(line)]
    parsed = [
        (line, v)
        for line in lines[:3]
        if (v := dates.parse_date(line, languages, fetched_at)) is not None
        and _allowed(v, fetched_at, flags)
    ]
    if parsed and len({v.date() for _, v in parsed}) == 1:
        return _Seen(parsed[0][1], None, parsed[0][0], near_headline=False)
    return None


def _one_day(values: list[str]) -> bool:
    """Whether the first three machine dates share their day (``YYYY-MM-DD`` prefix)."""
    return len({v.strip()[:10] for v in values[:3]}) <= 1


def _reconcile(
    chosen: _Candidate,
    others: list[_Candidate],
    modified: list[datetime],
    seen: _Seen | None,
    htmldate: datetime | None,
    url_day: date | None,
) -> tuple[datetime, str]:
    """Overrule the first structured date when the page's visible dateline says another day.

    The visible dateline (not an "updated" one) on another day wins when something independent
    gives that day too: the URL, another structured date, ``dateModified`` (the page was
    republished and shows that day as its date), a ``<time>``/``itemprop`` date, or htmldate.
    Printed right after the headline it also wins alone against a generic date key
    (``<meta name="date">``) or, one day off, against a UTC timestamp (the instant is past the
    publisher's midnight). An ambiguous numeric dateline (``05/06/2024``) whose other reading
    gives the structured day agrees with it. A URL day on which htmldate agrees, where the page
    shows no dateline, wins the same way.

    A classed dateline found elsewhere on the page (one day among all of them) wins against a
    generic key too, otherwise only with the URL, or for a UTC timestamp with htmldate.

    A UTC instant moved one day keeps its instant, in the offset that reaches the stated day;
    otherwise the structured candidate on that day is used, else the evidence itself.
    """
    source, raw, value = chosen.source, chosen.raw, chosen.value
    day = value.date()
    in_utc = dates.states_utc(raw) and value.utcoffset() == timedelta(0)
    htmldate_day = htmldate.date() if htmldate else None
    target: date | None = None
    evidence: tuple[str, datetime] | None = None
    if seen is not None and seen.value.date() != day:
        printed = seen.value.date()
        if seen.other is not None and seen.other.date() == day:
            return value, source  # the other reading of an ambiguous date agrees
        one_off = abs((printed - day).days) == 1
        # a <time> element is usually the printed dateline itself: no second witness of it
        backed = (
            printed in (url_day, htmldate_day)
            or any(c.value.date() == printed for c in others if c.source != "time")
            or any(m.date() == printed for m in modified)
        )
        if seen.near_headline:
            wins = backed or (seen.other is None and (chosen.weak or (in_utc and one_off)))
        else:
            wins = (
                printed == url_day
                or chosen.weak
                or (
                    in_utc
                    and printed == htmldate_day
                    and (one_off or any(c.value.date() == printed for c in others))
                )
            )
        if wins:
            target, evidence = printed, ("byline", seen.value)
    elif (
        seen is None
        and url_day is not None
        and url_day != day
        and url_day == htmldate_day
        and (abs((url_day - day).days) > 1 or in_utc)
    ):
        target = url_day
        evidence = ("url", datetime(url_day.year, url_day.month, url_day.day, tzinfo=UTC))
    if target is None or evidence is None:
        return value, source
    for other in others:
        if other.value.date() == target and not other.weak and other.source != "time":
            return other.value, other.source
    if in_utc and abs((target - day).days) == 1:
        shifted = dates.shift_to_day(value, target)
        if shifted is not None:
            return shifted, source
    for other in others:
        if other.value.date() == target:
            return other.value, other.source
    if evidence[0] == "byline" and seen is not None:
        # the printed clock of a structured instant on that day (often dateModified) gives the
        # publisher's offset: keep the instant rather than a wall-clock time labelled UTC
        for instant in modified:
            local = _as_printed(instant, seen)
            if local is not None and local.date() == target:
                return local, "byline"
    return evidence[1], evidence[0]


def _as_printed(instant: datetime, seen: _Seen) -> datetime | None:
    """``instant`` in the offset where its wall clock is the printed one (to the minute)."""
    local = dates.local_offset(instant.astimezone(UTC), [(seen.raw, seen.value)])
    wall = local.replace(tzinfo=None, second=0, microsecond=0)
    return local if wall == seen.value.replace(tzinfo=None, second=0, microsecond=0) else None


def _modified_raws(page: PageMeta) -> list[str]:
    return [r for r in (a.modified for a in page.jsonld) if r] + [
        v for _, v in page.all(MODIFIED_KEYS)
    ]


def _modified(
    page: PageMeta, languages: tuple[str, ...], fetched_at: datetime | None
) -> datetime | None:
    for raw in _modified_raws(page):
        value = dates.parse_date(raw, languages, fetched_at)
        if value is not None and dates.implausible(value, fetched_at) is None:
            return value
    return None


def _authors(
    page: PageMeta, byline: Callable[[], str | None], publishers: list[str], url: str
) -> tuple[list[str], list[str]]:
    """People from the first source naming one; the publisher's own name is never a person.

    CMSs fill JSON-LD ``author`` and the author meta with the site's name ("Example Times",
    "EXAMPLE.de") when an article has no personal byline: such a value is no person, so the next
    source is tried and a visible byline naming a person still wins; only when no source names
    one is the site's name kept, in organisations. An agency or desk that a source names (not
    the site itself) is the credit: trafilatura's reformatted byline, the weakest source, is
    then not asked for a person ("red, Agenturen" is not "Red" and "Agenturen"). One author meta
    value that lists JSON-LD's people and more completes them (JSON-LD often names only the
    first of two authors); several values or links are not one list (a page's teasers).
    """
    meta_authors = [v for _, v in page.all(AUTHOR_KEYS) if not re.match(r"https?://", v)]
    # (values, whether the field can only hold an author: then a user name is a credit too)
    sources: list[tuple[list[str], bool]] = [
        ([n for a in page.jsonld if a.is_article for n in a.authors], True),
        (meta_authors, True),
        (page.itemprop_authors, True),
        (page.rel_authors[:3], True),
        (page.bylines[:1], False),
        (page.prefixed_bylines[:1], True),
    ]
    first_orgs: list[str] = []
    credited = False  # an agency, a desk or a company named, not the site itself
    for i, (raw, handles) in enumerate(sources):
        people, orgs, own = _credits(raw, handles, publishers, url)
        if people:
            for value in meta_authors if i == 0 else []:
                wider, _, _ = _credits([value], True, publishers, url)
                keys = {_norm(p) for p in wider}
                if len(wider) > len(people) and {_norm(p) for p in people} <= keys:
                    people = wider
            return people, orgs
        credited = credited or len(orgs) > len(own)
        if orgs and not first_orgs:
            first_orgs = orgs
    traf_byline = byline() if not credited else None
    if traf_byline:
        people, orgs, _ = _credits([traf_byline.replace(";", ",")], False, publishers, url)
        if people:
            return people, orgs
        first_orgs = first_orgs or orgs
    return [], first_orgs


def _credits(
    raw: list[str], handles: bool, publishers: list[str], url: str
) -> tuple[list[str], list[str], list[str]]:
    """(people, organisations, the site's own names among them) of one source."""
    cleaned = [v for v in (clean_line(r, NAME_MAX_CHARS * 2) for r in raw) if v]
    # the site's own name, whatever its shape ("mbl.is", "EXAMPLE Online"), is no person
    own = [v for v in cleaned if _is_publisher(v, publishers, url)]
    people, orgs = split_authors([v for v in cleaned if v not in own], handles=handles)
    own += [p for p in people if _is_publisher(p, publishers, url)]
    people = [p for p in people if p not in own]
    return people, own + [o for o in orgs if o not in own], own


def _is_publisher(name: str, publishers: list[str], url: str) -> bool:
    """Whether ``name`` is the site's name: its site/publisher name, or its domain.

    The domain counts spelled as a name too ("El Example" on elexample.com, "Example.de"),
    when it is at least five letters long: short labels are also people's initials.
    """
    key = _norm(name)
    if not key:
        return False
    if any(key == _norm(p) for p in publishers if p):
        return True
    domain = registered_domain(url) or ""
    label = _norm(domain.split(".")[0])
    if " " not in name.strip():
        return key in (_norm(domain), label)
    return len(label) >= 5 and key in (_norm(domain), label)


def _same_site(candidate: str, url: str) -> bool:
    parts = urlsplit(candidate)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return registered_domain(candidate) == registered_domain(url)


def _canonical(page: PageMeta, url: str) -> str:
    candidates = [page.canonical, page.first(("og:url",))] + [a.url for a in page.jsonld]
    for candidate in candidates:
        cleaned = clean_url(candidate)
        if not cleaned:
            continue
        absolute = urljoin(url, cleaned)
        if (
            _same_site(absolute, url)
            and len(canonical := canonicalize_url(absolute)) <= URL_MAX_CHARS
        ):
            return canonical
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
    for value in raw:
        tag = (clean_line(value) or "").strip(" #")
        if tag and len(tag) <= 60 and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return list(seen.values())[:30]
