"""Article text that a page carries outside its visible markup, for when trafilatura finds none.

Pages rendered in the browser ship their story as data: the JSON-LD ``articleBody``, a
``<noscript>`` copy, or the application state a script hydrates (``window.__APOLLO_STATE__ =
{…}``, ``<script type="application/json">``, ``__NEXT_DATA__``), where the body is either an
HTML string or a rich-text tree — paragraph nodes (``"type": "p"``, ``"paragraph"``,
``"block"``; keys ``type``/``_type``/``nodeType``/``tag``/``name``) whose text leaves are
``data``/``text``/``value`` strings (htmlparser2, ProseMirror, Portable Text, Contentful). A
reader of the page sees that text once the script has run, so an archive that stores nothing
for such a page loses a story its user can read. No site is named here: the readers follow the
shapes those formats share.

:func:`fallback_body` returns the longest text found (paragraphs joined with ``\\n``), or None
when none reaches :data:`MIN_FALLBACK_CHARS` of prose.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lxml.html
from lxml import etree

from newsarchive.extraction.metadata import ARTICLE_TYPES, jsonld_types, load_jsonld, walk_jsonld
from newsarchive.extraction.textlength import latin_chars

if TYPE_CHECKING:
    from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

# Less than this (characters, per script) is a teaser or a caption, not a story.
MIN_FALLBACK_CHARS = 400
# A paragraph of fewer characters is a label, a button or a caption.
MIN_PARAGRAPH_CHARS = 40
# Scripts bigger than this are not parsed for state (a bundle, not data).
MAX_STATE_CHARS = 5_000_000
PARAGRAPH_TYPES = frozenset({"p", "paragraph", "block"})
TYPE_KEYS = ("type", "_type", "nodeType", "tag", "name")
TEXT_KEYS = frozenset({"data", "text", "value"})
_ASSIGNED = re.compile(r"^[\w$.\[\]'\"]+\s*=\s*(?=[{\[])")
_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
# Share of the page's title and description words a fallback text must contain.
MIN_RELEVANCE = 0.3
_TAG = re.compile(r"<(p|br|div|h[1-6])\b", re.IGNORECASE)


def fallback_body(tree: HtmlElement) -> str | None:
    """The page's article text from JSON-LD, ``<noscript>`` or embedded state (see above).

    JSON-LD and ``<noscript>`` describe the page itself. An application state often holds
    several stories (the page's and related ones): a state text must share at least
    :data:`MIN_RELEVANCE` of the words of the page's title and description, and the one
    sharing most (then the longest) is taken.
    """
    own = [c for c in (*_jsonld_bodies(tree), *_noscript_bodies(tree)) if _enough(c)]
    if own:
        return max(own, key=latin_chars)
    states = [c for c in _state_bodies(tree) if _enough(c)]
    if not states:
        return None
    words = _words(" ".join(tree.xpath("//title//text()")) + " " + _description(tree))
    if not words:
        return None  # nothing tells the page's story from a related one
    scored = [(round(len(words & _words(c)) / len(words), 1), latin_chars(c), c) for c in states]
    relevance, _, best = max(scored)
    return best if relevance >= MIN_RELEVANCE else None


def _enough(text: str) -> bool:
    return latin_chars(text) >= MIN_FALLBACK_CHARS


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.casefold()) if len(w) >= 3}


def _description(tree: HtmlElement) -> str:
    for content in tree.xpath('//meta[@property="og:description" or @name="description"]/@content'):
        return str(content)
    return ""


def _paragraphs(text: str) -> str:
    """Plain text of a string that may be HTML, one paragraph a line."""
    if _TAG.search(text):
        try:
            doc = lxml.html.fragment_fromstring(text, create_parent="div")
        except (etree.ParserError, ValueError):
            return ""
        for bad in doc.xpath(".//script | .//style"):
            bad.drop_tree()
        for br in doc.iter("br"):
            br.tail = "\n" + (br.tail or "")
        blocks = doc.xpath(".//p | .//h2 | .//h3 | .//li") or [doc]
        lines = [_WS.sub(" ", b.text_content()).strip() for b in blocks]
    else:
        lines = [_WS.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _jsonld_bodies(tree: HtmlElement) -> list[str]:
    bodies = []
    for script in tree.xpath('//script[contains(@type, "ld+json")]'):
        data = load_jsonld(script.text or "")
        if data is None:
            continue
        for node in walk_jsonld(data):
            body = node.get("articleBody") or (
                node.get("text") if jsonld_types(node) & ARTICLE_TYPES else None
            )
            if isinstance(body, str):
                bodies.append(_paragraphs(body))
    return bodies


def _noscript_bodies(tree: HtmlElement) -> list[str]:
    bodies = []
    for el in tree.iter("noscript"):
        # lxml parses <noscript> content as markup or keeps it as text, by context
        raw = (el.text or "") + "".join(etree.tostring(child, encoding="unicode") for child in el)
        text = _paragraphs(raw)
        lines = [line for line in text.split("\n") if latin_chars(line) >= MIN_PARAGRAPH_CHARS]
        bodies.append("\n".join(lines))
    return bodies


def _state_bodies(tree: HtmlElement) -> list[str]:
    bodies = []
    for script in tree.xpath("//script[not(@src)]"):
        kind = (script.get("type") or "").lower()
        if "ld+json" in kind:
            continue
        raw = (script.text or "").strip()
        if len(raw) < MIN_FALLBACK_CHARS or len(raw) > MAX_STATE_CHARS:
            continue
        data = _load_state(raw, is_json="json" in kind)
        if data is not None:
            bodies.extend(_bodies_in(data))
    return bodies


def _load_state(raw: str, *, is_json: bool) -> Any:
    """A script's JSON: the whole text, or the literal of one ``name = {…}`` assignment."""
    if not is_json:
        match = _ASSIGNED.match(raw)
        if match is None:
            return None
        raw = raw[match.end() :].rstrip().rstrip(";")
    try:
        return json.loads(raw)
    except ValueError:
        try:  # a literal followed by more statements: read the first value only
            return json.JSONDecoder().raw_decode(raw)[0]
        except ValueError:
            return None


def _bodies_in(data: Any) -> list[str]:
    """Rich-text paragraph lists and HTML strings in a JSON value, each as one text."""
    found: list[str] = []
    stack: list[Any] = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            values = list(node.values())
        elif isinstance(node, list):
            values = node
            paragraphs = [_leaf_text(v) for v in node if _is_paragraph(v)]
            text = "\n".join(p for p in paragraphs if latin_chars(p) >= MIN_PARAGRAPH_CHARS)
            if latin_chars(text) >= MIN_FALLBACK_CHARS:
                found.append(text)
                continue
        elif isinstance(node, str) and len(node) >= MIN_FALLBACK_CHARS and _TAG.search(node):
            found.append(_paragraphs(node))
            continue
        else:
            continue
        stack.extend(reversed(values))
    return found


def _is_paragraph(node: Any) -> bool:
    return isinstance(node, dict) and any(
        isinstance(node.get(k), str) and node[k].lower() in PARAGRAPH_TYPES for k in TYPE_KEYS
    )


def _leaf_text(node: Any) -> str:
    """The text of a rich-text node: its ``data``/``text``/``value`` strings in order."""
    parts: list[str] = []
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in reversed(list(item.items())):
                # text leaves, and the nodes under which more of them sit
                if isinstance(value, dict | list) or (key in TEXT_KEYS and isinstance(value, str)):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, str):
            parts.append(item)
    return _WS.sub(" ", "".join(parts)).strip()


@dataclass(frozen=True, slots=True)
class NoMetadata:
    """Stands in for trafilatura's document when it found nothing: metadata comes from the
    page's own tags and structured data alone."""

    text: str | None = None
    title: str | None = None
    author: str | None = None
    date: str | None = None
    sitename: str | None = None
    description: str | None = None
    image: str | None = None
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


NO_METADATA = NoMetadata()
