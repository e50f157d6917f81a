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
import warnings
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml.html import HtmlElement

logger = logging.getLogger(__name__)


def read_page(tree: HtmlElement, url: str, fetched_at: datetime | None) -> Any:
    """trafilatura's Document for the page (text and metadata), or None when it finds no text."""
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
            meta = read_metadata(tree, url, date_params)
        except (TypeError, ValueError) as exc:  # bare_extraction's own answer to these
            logger.debug("trafilatura metadata failed: %s", exc)
            return None
    meta.text, meta.raw_text, meta.body = doc.text, doc.raw_text, doc.body
    return meta


def read_metadata(tree: HtmlElement, url: str, date_params: dict[str, Any]) -> Any:
    """:func:`trafilatura.metadata.extract_metadata` without the licence and the categories'
    link search (no author blacklist, as bare_extraction calls it)."""
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
    if not metadata.author:
        metadata.author = tm.extract_author(tree)
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
        metadata.tags = tm.extract_catstags("tag", tree)
    metadata.filedate = date_config.get("max_date")
    metadata.clean_and_trim()
    return metadata


def categories(tree: HtmlElement, doc: Any) -> list[str]:
    """The categories trafilatura would give: the page's own (JSON-LD), else its link search."""
    from trafilatura import metadata as tm

    return list(doc.categories or tm.extract_catstags("category", tree))
