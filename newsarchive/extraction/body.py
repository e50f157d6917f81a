"""Body text after trafilatura: the page furniture it keeps, removed by general rules.

trafilatura's main-text heuristics keep, on many news pages, lines a reader does not read as the
article: teasers of other articles inside or under the text ("Read more: …", "Les også: …", a
bare list of headlines), image captions that repeat a paragraph word for word, and, rarely, they
stop half-way through a long article. Each rule here is measured on the shared corpus and is
about page structure, never about a site:

* **link lines**: a line that is the whole text of one link of the page (optionally after a
  short label and a colon) is a link to something else, not a sentence of the article;
* **repeated lines**: a line whose words repeat an earlier line's (a caption or pull-quote
  printed twice) is kept once;
* **headline and byline lines**: near the top, a line holding the headline with a kicker or the
  site's name around it, or a byline naming exactly the article's authors, is furniture;
* **the publisher's own text**: JSON-LD ``articleBody`` is the CMS's copy of the article; when it
  holds clearly more text than trafilatura found *and* contains what it found, trafilatura was
  cut short (a paywall's markup, an ad slot it took for the end) and the full copy is used.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

from newsarchive.extraction.text import clean_text
from newsarchive.extraction.textlength import latin_chars

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

# a link's text shorter than this (in latin-equivalent characters) is a label ("More", "Video")
MIN_LINK_CHARS = 15
# a line found inside a longer link's text must be a sentence, not a subheading
MIN_INSIDE_LINK_CHARS = 40
# "Read more:", "Lesen Sie auch:", "MORE :": a label is a few words before a colon
MAX_LABEL_WORDS = 4
# a line repeated is only dropped when it is a sentence, not a one-word subheading
MIN_REPEAT_CHARS = 20
# JSON-LD articleBody replaces trafilatura's text when it is this much longer and contains it
FULLER_RATIO = 1.5
MIN_CONTAINED = 0.9

_NON_WORD = re.compile(r"[\W_]+")
_BULLET = re.compile(r"^\s*(?:[-–—•·*»›>]\s*)+")
_URL_LIKE = re.compile(r"https?://|www\.|^\S+\.[a-z]{2,}(?:/\S*)?$", re.IGNORECASE)
_BLOCK_MARKUP = re.compile(r"<(?:p|br|div|h[1-6]|li)\b", re.IGNORECASE)
_TOKEN = re.compile(r"\w+")
_LINKS = etree.XPath("//a[@href][not(starts-with(normalize-space(@href), '#'))]")


def _key(text: str) -> str:
    return _NON_WORD.sub("", text.casefold())


@dataclass(frozen=True, slots=True)
class PageLinks:
    """The normalised texts of a page's links long enough to be a headline."""

    texts: frozenset[str]
    joined: str  # the same texts, one per line, for substring tests

    def holds(self, key: str) -> bool:
        """Whether ``key`` is a link's whole text or, for a sentence, part of a link's text
        (a teaser's summary printed inside the link to its story)."""
        size = latin_chars(key)
        if size < MIN_LINK_CHARS:
            return False
        return key in self.texts or (size >= MIN_INSIDE_LINK_CHARS and key in self.joined)


def link_texts(tree: HtmlElement) -> PageLinks:
    """The page's links' texts (see :class:`PageLinks`).

    Only links to another page count: a table of contents links the article's own subheadings
    (``href="#…"``), and a named anchor (no ``href``) links nothing.
    """
    keys = (_key(a.text_content()) for a in _LINKS(tree))
    texts = frozenset(k for k in keys if latin_chars(k) >= MIN_LINK_CHARS)
    return PageLinks(texts, "\n".join(texts))


def _is_link_line(line: str, links: PageLinks) -> bool:
    text = _BULLET.sub("", line).strip()
    if not text or _URL_LIKE.search(text):
        return False  # a URL printed as text is the article citing it
    if links.holds(_key(text)):
        return True
    label, colon, rest = text.partition(":")
    return bool(colon) and len(label.split()) <= MAX_LABEL_WORDS and links.holds(_key(rest))


def drop_link_lines(body: str, links: PageLinks) -> str:
    """``body`` without the lines that are a link's whole text.

    When such lines would be most of the text, the page is a list of links, and it is left as
    it is (the article rule, not this one, decides what such a page is).
    """
    lines = body.split("\n")
    kept = [line for line in lines if not _is_link_line(line, links)]
    if len(kept) == len(lines) or latin_chars("".join(kept)) < latin_chars("".join(lines)) / 2:
        return body
    return "\n".join(kept)


def drop_repeated_lines(body: str) -> str:
    """``body`` with each line whose words repeat an earlier line's kept once."""
    seen: set[str] = set()
    kept: list[str] = []
    for line in body.split("\n"):
        key = _key(line)
        if latin_chars(key) >= MIN_REPEAT_CHARS:
            if key in seen:
                continue
            seen.add(key)
        kept.append(line)
    return "\n".join(kept)


def article_body_text(raw: str) -> str:
    """JSON-LD ``articleBody`` as lines of text: markup (some CMSs put HTML there) reduced to
    its blocks' text, entities decoded, one paragraph a line."""
    if _BLOCK_MARKUP.search(raw):
        from lxml.html import fragment_fromstring

        from newsarchive.extraction.tree import load_tree

        try:
            root = fragment_fromstring(raw, create_parent="div")
        except ValueError:
            root = load_tree(f"<html><body>{raw}</body></html>")
        if root is not None:
            for br in root.iter("br"):
                br.tail = "\n" + (br.tail or "")
            for block in root.iter("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li"):
                block.tail = "\n" + (block.tail or "")
                block.text = "\n" + (block.text or "")
            raw = root.text_content()
    else:
        import html

        raw = html.unescape(raw)
    lines = (" ".join(line.split()) for line in clean_text(raw).splitlines())
    return "\n".join(line for line in lines if line)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


def fuller_body(body: str, candidates: Iterable[str | None]) -> str:
    """The publisher's own copy of the text (JSON-LD ``articleBody``) when trafilatura's is cut.

    A candidate wins when it is :data:`FULLER_RATIO` times longer and contains
    :data:`MIN_CONTAINED` of trafilatura's words: then trafilatura found part of this text, and
    stopped. A longer candidate that does not contain it is another text (a teaser list, the
    whole page's copy), and a candidate of about the same length has nothing to add.
    """
    length = latin_chars(body)
    mine = _tokens(body)
    if not mine:
        return body
    for raw in candidates:
        if not raw or latin_chars(raw) < FULLER_RATIO * length:
            continue
        text = article_body_text(raw)
        if latin_chars(text) < FULLER_RATIO * length:
            continue
        theirs = set(_tokens(text))
        if sum(t in theirs for t in mine) >= MIN_CONTAINED * len(mine):
            return text
    return body


# how far from the top a headline block or a byline is looked for
TOP_LINES = 5
# a headline block is the headline plus at most this many characters (kicker, site name), and
# no sentence: a lead paragraph that opens with the headline's words ends with a full stop
MAX_HEADLINE_EXTRA = 40
_BYLINE_WORD = re.compile(
    r"^(?:by|von|par|di|da|por|door|av|af|oleh|przez|de|texte?|text|autor|author)\b[\s:]*",
    re.IGNORECASE,
)


def drop_top_furniture(
    body: str,
    headlines: Iterable[str | None],
    authors: list[str],
    furniture: Iterable[str] = (),
) -> str:
    """``body`` without headline blocks, bylines and the page's own byline and dateline
    elements' texts (``furniture``) among its first :data:`TOP_LINES` lines.

    A headline block contains a headline of the page (``title``, ``<h1>``) and little else: the
    headline with its kicker ("Kollaps der Bank US-Notenbank räumt … ein") or the site's name
    ("… | Example News"), and ends as no sentence does. A byline is a byline word or none, then the article's authors and
    nothing else ("Von Nina Muster", "渡辺洋介"). The last line is always kept.
    """
    keys = {k for k in (_key(h) for h in headlines if h) if latin_chars(k) >= MIN_LINK_CHARS}
    names = [_key(a) for a in authors if a]
    byline_keys = {"".join(names)} | ({names[0]} if len(names) == 1 else set())
    byline_keys.discard("")
    exact = {k for k in (_key(f) for f in furniture) if k}
    lines = body.split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if i < TOP_LINES and len(lines) - i > 1:
            key = _key(line)
            if key in exact:
                continue
            size = latin_chars(key)
            if not line.rstrip().endswith((".", "。")) and any(
                k in key and size <= latin_chars(k) + MAX_HEADLINE_EXTRA for k in keys
            ):
                continue
            if byline_keys and _key(_BYLINE_WORD.sub("", line.strip())) in byline_keys:
                continue
        kept.append(line)
    return "\n".join(kept) if kept else body
