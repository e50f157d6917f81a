"""trafilatura's reading of a page: its body text, and its metadata without what nothing reads.

``bare_extraction(with_metadata=True)`` runs :func:`trafilatura.metadata.extract_metadata`,
which besides the fields the fusion weighs (title, byline, date, site name, description, image,
categories, tags) searches every footer link for a licence and six XPath patterns of the
page's links for categories. Nothing reads the licence, and the categories only matter when the
page names no section itself (JSON-LD ``articleSection``, ``article:section``): together they
were a tenth of trafilatura's own metadata time. So the body is extracted without metadata and
the metadata is read here, step by step in trafilatura's order with trafilatura's own readers,
minus the licence, with the categories left to :func:`categories` for the pages that need them.
The fields are those trafilatura would give (``test_reading_gives_trafilatura_metadata``).

trafilatura copies a tree it is handed before extracting and its metadata readers only read, so
the caller's tree is intact afterwards and shared with the other readers of the page.
"""

from __future__ import annotations

import logging
import re
import warnings
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from lxml.etree import XPath

if TYPE_CHECKING:
    from lxml.html import HtmlElement

logger = logging.getLogger(__name__)


def _union(names: str, having: str, test: str, axis: str = "//") -> str:
    """``//*[self::a or self::p …][test]`` as one path per name: libxml2 evaluates the union of
    name steps several times faster than one step testing each name, and a union is in page
    order, as the single step's results are. ``having`` names the attributes ``test`` reads:
    elements with none of them (about half) skip its string comparisons."""
    paths = " | ".join(f"{axis}{name}" for name in names.split())
    return f"({paths})[{having}][{test}]"


def _contains(attribute: str, *parts: str) -> str:
    """``re:test(@x, 'a|b')`` without the Python call per element: lxml's EXSLT ``re:test`` is
    ``re.search`` on the attribute's value, so alternatives of plain text are substrings."""
    return " or ".join(f"contains({attribute}, '{part}')" for part in parts)


def _starts(attribute: str, *parts: str) -> str:
    """``re:test(@x, '^a|^b')``: an anchored alternative is a prefix of the value."""
    return " or ".join(f"starts-with({attribute}, '{part}')" for part in parts)


# trafilatura.xpaths.AUTHOR_XPATHS, AUTHOR_DISCARD_XPATHS and TAGS_XPATHS (trafilatura 2.x),
# spelled for libxml2 alone: the same elements, in the same order (a regular expression such as
# 'author-?name|AuthorName' is written out as its substrings). Evaluating the EXSLT regular
# expressions in Python for every classed element was most of their cost.
AUTHOR_XPATHS = [
    XPath(
        _union(
            "a address div link p span strong",
            "@rel or @id or @class or @itemprop or @data-testid or rel",
            "@rel='author' or @id='author' or @class='author' or @itemprop='author name'"
            " or rel='me' or @data-testid='AuthorCard' or @data-testid='AuthorURL' or "
            + _contains("@class", "authorname", "author-name", "AuthorName", "authorName"),
        )
        + "|//author"
    ),
    XPath(
        _union(
            "a div h3 h4 p span",
            "@class or @itemprop or @id",
            "@class='byline' or @class='username' or @class='byl' or @class='BBL'"
            " or contains(@itemprop, 'author') or "
            + _contains("@id", "author", "zuozhe", "bianji", "xiaobian")
            + " or "
            + _contains(
                "@class",
                *[
                    "author",
                    "channel-name",
                    "zuozhe",
                    "bianji",
                    "xiaobian",
                    "submitted-by",
                    "posted-by",
                ],
                "journalist-name",
            ),
        )
    ),
    XPath(
        "//*[@data-component or @itemprop or @id or @class]"
        "[contains(@data-component, 'Byline') or contains(@itemprop, 'author') or "
        + _contains("@id", "Author", "author")
        + " or "
        + _contains("@class", "Author", "author", "screenname", "writer", "Byline", "byline")
        + "]"
    ),
]
AUTHOR_DISCARD_XPATHS = [
    XPath(
        _union(
            "a div section span",
            "@id or @class or @data-component",
            "@id='comments' or @class='comments' or @class='title' or @class='date' or "
            + _starts("@id", "comments")
            + " or "
            + _contains("@id", "commentlist", "comment-list", "ProductReviews")
            + " or "
            + _starts("@class", "Comments", "comments")
            + " or "
            + _contains(
                "@class",
                *[
                    "commentlist",
                    "comments-list",
                    "sidebar",
                    "is-hidden",
                    "quote",
                    "embedly-instagram",
                ],
                *[
                    "article-share",
                    "article-support",
                    "print",
                    "category",
                    "meta-date",
                    "meta-reviewer",
                ],
            )
            + " or contains(@data-component, 'Figure')",
            axis=".//",
        )
    ),
    XPath("//time|//figure"),
]
# "//x[test]//a[@href]" as "the links with such an ancestor": the same links in the same order,
# but the ancestors are only looked up for the few links that can be tag links (_tags' test
# needs "/tag" in the address), instead of every link under every matching element.
_TAG_LINKS = "//a[@href][contains(@href, '/tag')]"
_ANY_TAG_LINK = XPath(f"boolean({_TAG_LINKS})")
TAGS_XPATHS = [
    XPath(f"{_TAG_LINKS}[ancestor::div[@class='tags']]"),
    XPath(f"{_TAG_LINKS}[ancestor::p[starts-with(@class, 'entry-tags')]]"),
    XPath(
        f"{_TAG_LINKS}[ancestor::div[@class='row' or @class='jp-relatedposts'"
        " or @class='entry-utility' or " + _starts("@class", "tag", "postmeta", "meta") + "]]"
    ),
    XPath(
        f"{_TAG_LINKS}[ancestor::*[@class='entry-meta' or contains(@class, 'topics')"
        " or contains(@class, 'tags-links')]]"
    ),
]


# Word characters (casefolded, as the fusion compares them) a searched byline can have: the
# search takes an element's text under 120 characters, and case mapping turns one character
# into at most three (checked over all of Unicode: test_searched_byline_bound).
SEARCHED_BYLINE_MAX_CHARS = 3 * 119


@dataclass(slots=True)
class Reading:
    """trafilatura's Document for a page, its byline search (``extract_author``) run on demand.

    trafilatura searches the markup for a byline when neither the meta tags nor JSON-LD name an
    author, about half of all pages; it was a third of its metadata time, and the fusion needs
    that byline only to recognise a line at the top of the body, or when no other source names
    anyone (:meth:`byline`).
    """

    doc: Any
    tree: HtmlElement
    pending: bool

    def byline(self, chars: int | None = None) -> str | None:
        """The byline trafilatura gives. With ``chars``, the caller only asks whether a text of
        that many word characters can be it: a longer text than any searched byline gets None
        without the search."""
        if self.pending:
            if chars is not None and chars > SEARCHED_BYLINE_MAX_CHARS:
                return None
            self.doc.author = searched_byline(self.tree)
            self.pending = False
        return self.doc.author  # type: ignore[no-any-return]


def read_page(tree: HtmlElement, url: str, fetched_at: datetime | None) -> Reading | None:
    """trafilatura's reading of the page (text and metadata), or None when it finds no text."""
    import trafilatura

    max_date = (fetched_at or datetime.now()) + timedelta(days=1)
    date_params = {
        "extensive_search": False,
        "original_date": True,
        "max_date": max_date.strftime("%Y-%m-%d"),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc: Any = trafilatura.bare_extraction(
            tree,
            url=url,
            include_comments=False,
            include_tables=True,
            with_metadata=False,
            deduplicate=False,
            date_extraction_params=date_params,
        )
        if doc is None:
            return None
        try:
            meta, pending = read_metadata(tree, url, date_params)
        except (TypeError, ValueError) as exc:  # bare_extraction's own answer to these
            logger.debug("trafilatura metadata failed: %s", exc)
            return None
    meta.text, meta.raw_text, meta.body = doc.text, doc.raw_text, doc.body
    return Reading(meta, tree, pending)


def read_metadata(tree: HtmlElement, url: str, date_params: dict[str, Any]) -> tuple[Any, bool]:
    """:func:`trafilatura.metadata.extract_metadata` without the licence and the categories'
    link search (no author blacklist, as bare_extraction calls it), and whether its byline
    search is still to run (see :class:`Reading`)."""
    from courlan import extract_domain
    from htmldate import find_date
    from trafilatura import metadata as tm

    metadata = tm.examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None
    try:
        metadata = tm.extract_meta_json(tree, metadata)
    except Exception as err:  # noqa: BLE001 - trafilatura's own guard around its JSON-LD reader
        logger.debug("error in JSON metadata extraction: %s", err)
    if not metadata.title:
        metadata.title = tm.extract_title(tree)
    pending = not metadata.author  # the byline search reads the tree only: run on demand
    if not metadata.url:
        metadata.url = tm.extract_url(tree, url)
    if metadata.url:
        metadata.hostname = extract_domain(metadata.url, fast=True)
    date_config = {**date_params, "url": metadata.url}
    metadata.date = find_date(tree, **date_config)
    if not metadata.sitename:
        metadata.sitename = tm.extract_sitename(tree)
    if metadata.sitename:
        metadata.sitename = metadata.sitename.lstrip("@")
        if (
            metadata.sitename
            and "." not in metadata.sitename
            and not metadata.sitename[0].isupper()
        ):
            metadata.sitename = metadata.sitename.title()
    elif metadata.url:
        match = tm.META_URL.match(metadata.url)
        if match:
            metadata.sitename = match[1]
    if not metadata.tags:
        metadata.tags = _tags(tree)
    metadata.filedate = date_config.get("max_date")
    metadata.clean_and_trim()
    return metadata, pending


def categories(tree: HtmlElement, doc: Any) -> list[str]:
    """The categories trafilatura would give: the page's own (JSON-LD), else its link search."""
    from trafilatura import metadata as tm

    return list(doc.categories or tm.extract_catstags("category", tree))


def searched_byline(tree: HtmlElement) -> str | None:
    """:func:`trafilatura.metadata.extract_author` with the XPaths above, trimmed as
    ``extract_metadata`` trims every field (``Document.clean_and_trim``)."""
    from html import unescape

    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.json_metadata import normalize_authors
    from trafilatura.metadata import extract_metainfo
    from trafilatura.utils import line_processing

    subtree = prune_unwanted_nodes(deepcopy(tree), AUTHOR_DISCARD_XPATHS)
    author = extract_metainfo(subtree, AUTHOR_XPATHS, len_limit=120)
    author = normalize_authors(None, author) if author else author
    if isinstance(author, str):
        if len(author) > 10000:
            author = author[:9999] + "…"
        author = line_processing(unescape(author))
    return author


def _tags(tree: HtmlElement) -> list[str]:
    """:func:`trafilatura.metadata.extract_catstags` for tags, with the XPaths above."""
    from trafilatura.baseline import block_text
    from trafilatura.utils import line_processing

    results: list[str] = []
    if not _ANY_TAG_LINK(tree):  # most pages: one pass over the links instead of four
        return results
    for expression in TAGS_XPATHS:
        results.extend(
            block_text(elem) for elem in expression(tree) if _TAG_LINK.search(elem.attrib["href"])
        )
        if results:
            break
    return [r for r in dict.fromkeys(line_processing(x) for x in results if x) if r]


_TAG_LINK = re.compile("/tag(?:y|ies|s)?/")  # extract_catstags' pattern for "tag"
