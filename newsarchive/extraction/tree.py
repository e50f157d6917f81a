"""Parse a page once, into the tree every reader of the page shares (trafilatura included).

The tree is what ``trafilatura.utils.load_html`` builds (same libxml2 parser options, same
repairs, same rejection of bytes that are not HTML), with one difference in how lxml hands out
Python objects: ``lxml.html.HTMLParser`` looks up the class of *every* element proxy with a
Python callback (``HtmlElementClassLookup.lookup``, there to give ``<form>``, ``<input>``,
``<select>``… their form-handling subclasses). Reading a news page creates millions of proxies
(trafilatura's cleaning, readability, our metadata readers), and that callback alone was about a
sixth of extraction's CPU. Here the lookup is lxml's C-level default lookup: every element is a
plain :class:`lxml.html.HtmlElement` (``text_content``, ``drop_tree``… all there), only the
form-control conveniences are missing, which nothing in extraction uses. Copies of the tree
(trafilatura copies what it is handed) keep the parser and so the fast lookup.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lxml import etree
from lxml.html import (
    HtmlComment,
    HtmlElement,
    HtmlEntity,
    HTMLParser,
    HtmlProcessingInstruction,
    fromstring,
)

if TYPE_CHECKING:
    from lxml.html import HtmlElement as HtmlElementType

logger = logging.getLogger(__name__)

# trafilatura.utils.HTML_PARSER's options
_PARSER = HTMLParser(
    collect_ids=False,
    default_doctype=False,
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
)
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=HtmlElement,
        comment=HtmlComment,
        pi=HtmlProcessingInstruction,
        entity=HtmlEntity,
    )
)


def load_tree(text: str) -> HtmlElementType | None:
    """``trafilatura.utils.load_html`` on decoded text, with the fast element lookup.

    None when the text is not HTML (a dubious start and fewer than two top-level elements).
    """
    from trafilatura.utils import is_dubious_html, repair_faulty_html

    beginning = text[:50].lower()
    dubious = is_dubious_html(beginning)
    text = repair_faulty_html(text, beginning)
    tree: HtmlElementType | None = None
    tried_bytes = False
    try:
        tree = fromstring(text, parser=_PARSER)
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree, tried_bytes = _from_bytes(text), True
    except etree.LxmlError as exc:
        logger.debug("lxml parsing failed: %s", exc)
    if (tree is None or len(tree) < 1) and not tried_bytes:
        tree = _from_bytes(text)
    if tree is not None and dubious and len(tree) < 2:
        return None
    return tree


def _from_bytes(text: str) -> HtmlElementType | None:
    try:
        tree: HtmlElementType = fromstring(text.encode("utf8", "surrogatepass"), parser=_PARSER)
    except (etree.LxmlError, ValueError) as exc:
        logger.debug("lxml parsing of bytes failed: %s", exc)
        return None
    return tree
