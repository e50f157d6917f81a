"""Who a page says it copies: attribution lines, cross-domain canonicals, JSON-LD sources.

Syndication partners credit the first publisher in a handful of conventional ways, and the
archive uses them to tell a copy from its original when publication times tie (wire copy
carries the wire's timestamp). Found here, as :class:`newsarchive.items.Credit` values:

- ``line``: a short line of the page saying so, in many languages — "Originally published by
  …", "Source: …", "Quelle: …", "Fonte: …", "Fuente: …", "出典：…", "(Reuters) — …" — with the
  linked URL when the line links off-site, else the credited name;
- ``canonical``: ``<link rel="canonical">`` pointing at another site (Google's recommendation
  for syndicated copies);
- ``based_on``: JSON-LD ``isBasedOn`` / ``isBasedOnUrl``;
- ``source_org``: JSON-LD ``sourceOrganization``.

A credit says nothing by itself; :mod:`newsarchive.archive.linking` only uses one when it names
the other article of a linked pair (its URL, its host or its site name). Pure functions.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from newsarchive.discovery.urls import canonicalize_url, registered_domain
from newsarchive.extraction.metadata import load_jsonld, walk_jsonld
from newsarchive.items import Credit, CreditKind

if TYPE_CHECKING:
    from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

MAX_CREDITS = 8
MAX_LINE_CHARS = 240
# Elements that hold an attribution line; figures and captions credit photos, not stories.
# Containers whose text is far longer than a line (the article, the page) are left out in C:
# reading their text in Python was most of this module's cost. XPath's normalize-space()
# collapses only ASCII whitespace, Python's split() every Unicode space, so the C test allows
# twice the line's length: only an element with more non-ASCII spaces than characters
# (nothing a credit line is) could be a line to Python and not to XPath.
# One path per element name: libxml2 tests a union of name steps several times faster than
# one step testing ten names (``//body//*[self::p or self::div …]``); the union is in page order.
_LINE_TAGS = ("p", "div", "span", "small", "em", "i", "footer", "aside", "li", "cite")
_LINE_XPATH = etree.XPath(
    "(" + " | ".join(f"//body//{tag}" for tag in _LINE_TAGS) + ")"
    "[string-length(normalize-space(.)) <= $limit]"
    "[not(ancestor-or-self::figure) and not(ancestor-or-self::figcaption)]"
)
_CREDIT_WORDS = (
    r"originally\s+(?:published|appeared|posted)\s+(?:by|on|in|at)"
    r"|first\s+(?:published|appeared)\s+(?:by|on|in|at)"
    r"|(?:re)?published\s+(?:with\s+permission\s+)?(?:from|by|courtesy\s+of)"
    r"|this\s+(?:story|article)\s+(?:was\s+)?(?:first\s+|originally\s+)?"
    r"(?:published|appeared)\s+(?:by|on|in|at)"
    r"|courtesy\s+of|source|sources|via"
    r"|quelle|zuerst\s+erschienen\s+(?:bei|in|auf)|erstveröffentlichung(?:\s+(?:bei|in))?"
    r"|mit\s+freundlicher\s+genehmigung\s+(?:von|der|des)"
    r"|fonte|fontes|fuente|fuentes|publicado\s+originalmente\s+(?:en|por|em|no|na)"
    r"|pubblicato\s+originariamente\s+(?:su|da|in)|articolo\s+originale\s+(?:su|di)"
    r"|source\s+originale|publié\s+initialement\s+(?:par|dans|sur)|paru\s+dans"
    r"|article\s+original|bron|oorspronkelijk\s+gepubliceerd\s+(?:door|op|in)"
    r"|källa|kilde|lähde|źródło|zdroj|forrás|kaynak|sursa|πηγή"
    r"|источник|джерело|oorspronkelijk|sumber|nguồn|출처|出典|出处|来源|來源|原文|転載元|ที่มา"
)
_CREDIT_LINE = re.compile(
    rf"^\s*[\[(]?\s*(?:{_CREDIT_WORDS})\s*[:：\-–—]?\s*(?P<name>.*)$", re.IGNORECASE
)
# Words that may precede a colon-less credit ("Source Reuters" is too weak; "Source: Reuters" is
# not): lines starting with one of these need the colon.
_NEEDS_COLON = frozenset({"source", "sources", "via", "fonte", "fontes", "fuente", "fuentes",
                          "quelle", "bron", "kilde", "källa", "lähde", "sumber"})  # fmt: skip
# "(Reuters) — The carmaker said…": an agency in parentheses opening the first paragraph.
_AGENCY_PREFIX = re.compile(r"^\s*\((?P<name>[^()\d]{2,40})\)\s*[—–-]\s+\S")
_NAME_END = re.compile(r"\s*(?:[.;|]\s|[.;|]$|,\s+\d|\s+(?:on|am|le|el|il|em|op)\s+\d).*$")


def find_credits(tree: HtmlElement, url: str) -> list[Credit]:
    """Every credit the page gives to another publisher, in page order, at most
    :data:`MAX_CREDITS`."""
    credits: list[Credit] = []
    seen: set[tuple[str, str | None, str | None]] = set()

    def add(kind: CreditKind, target_url: str | None, name: str | None) -> None:
        name = _clean_name(name)
        if target_url is not None:
            target_url = _absolute(target_url, url)
            if target_url is None or _same_site(target_url, url):
                target_url = None
        if target_url is None and not name:
            return
        key = (kind.value, target_url, name)
        if key not in seen and len(credits) < MAX_CREDITS:
            seen.add(key)
            credits.append(Credit(kind=kind, url=target_url, name=name))

    for el in tree.xpath('//link[@rel="canonical"][@href]')[:1]:
        href = _absolute(el.get("href", ""), url)
        if href is not None and not _same_site(href, url):
            add(CreditKind.CANONICAL, href, None)
    for script in tree.xpath('//script[contains(@type, "ld+json")]'):
        data = load_jsonld(script.text or "")
        if data is None:
            continue
        for node in walk_jsonld(data, follow=("@graph", "mainEntity")):
            for key in ("isBasedOn", "isBasedOnUrl"):
                for target, name in _refs(node.get(key)):
                    add(CreditKind.BASED_ON, target, name)
            for target, name in _refs(node.get("sourceOrganization")):
                add(CreditKind.SOURCE_ORG, target, name)
    for el in _LINE_XPATH(tree, limit=2 * MAX_LINE_CHARS):
        text = " ".join(el.text_content().split())
        if not text or len(text) > MAX_LINE_CHARS:
            continue
        match = _CREDIT_LINE.match(text)
        if match is not None and _has_colon_if_needed(text):
            links = [a.get("href") for a in el.iter("a") if a.get("href")]
            off_site = [h for h in links if (_absolute(h, url) or "") and not _same_site(
                _absolute(h, url) or "", url)]  # fmt: skip
            add(CreditKind.LINE, off_site[0] if off_site else None, match.group("name"))
    for el in tree.xpath("//body//p")[:3]:
        agency = _AGENCY_PREFIX.match(" ".join(el.text_content().split()))
        if agency is not None:
            add(CreditKind.LINE, None, agency.group("name"))
            break
    return credits


def _has_colon_if_needed(text: str) -> bool:
    first = re.split(r"[\s:：\-–—]", text.strip().lstrip("[(").strip(), maxsplit=1)[0].casefold()
    if first not in _NEEDS_COLON:
        return True
    return bool(re.match(rf"^\s*[\[(]?\s*{re.escape(first)}\s*[:：]", text, re.IGNORECASE))


def _refs(value: Any) -> list[tuple[str | None, str | None]]:
    """(url, name) pairs of a JSON-LD reference: a URL string, an object, or a list of them."""
    out: list[tuple[str | None, str | None]] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str) and item.strip():
            out.append((item.strip(), None) if "://" in item else (None, item.strip()))
        elif isinstance(item, dict):
            target = item.get("url") or item.get("@id")
            name = item.get("name")
            out.append(
                (
                    target if isinstance(target, str) and "://" in target else None,
                    name if isinstance(name, str) else None,
                )
            )
    return out[:MAX_CREDITS]


def _clean_name(name: str | None) -> str | None:
    if not name:
        return None
    name = _NAME_END.sub("", " ".join(name.split())).strip(" \"'«»“”()[]:.,-–—")
    return name[:120] or None


def _absolute(href: str, base: str) -> str | None:
    target = urljoin(base, href.strip())
    if urlsplit(target).scheme not in ("http", "https"):
        return None
    return canonicalize_url(target)


def _same_site(candidate: str, url: str) -> bool:
    try:
        return registered_domain(candidate) == registered_domain(url)
    except ValueError:
        return False
