"""Reading untrusted XML (sitemaps, feeds) over bytes: bounded gunzip and a hostile-safe iterparse.

Sitemaps and feeds come from sites we do not control: gzip sometimes served as
``application/octet-stream``, entity bombs, external entities pointing at local files, documents
cut mid-element, HTML error pages at XML URLs. One parser configuration serves them all, like
Scrapy's ``scrapy/utils/sitemap.py``: ``iterparse`` with ``recover=True`` (keep what parses),
``resolve_entities=False`` and ``load_dtd=False`` (no entity expansion, no local file read),
``no_network=True`` and ``huge_tree=False`` (libxml2's own size limits). Callers clear each element
once they have read it, so memory stays bounded by one entry, not the document.
"""

from __future__ import annotations

import logging
import struct
from gzip import GzipFile
from io import BytesIO
from typing import TYPE_CHECKING

from lxml import etree

if TYPE_CHECKING:
    from collections.abc import Iterator

logger = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
CHUNK_SIZE = 64 * 1024


class BadGzip(ValueError):
    """The body starts like gzip but does not decompress (or decompresses past the limit)."""


def gunzip(data: bytes, *, max_size: int = 0) -> bytes:
    """As much of ``data`` as decompresses, at most ``max_size`` bytes (0: no limit).

    Like Scrapy's ``gunzip``: a truncated stream or a bad CRC after some output keeps that
    output; nothing decodable, or more than ``max_size`` bytes, raises :class:`BadGzip`.
    """
    stream = GzipFile(fileobj=BytesIO(data))
    out = BytesIO()
    size = 0
    chunk = b"."
    while chunk:
        try:
            chunk = stream.read1(CHUNK_SIZE)
        except (OSError, EOFError, struct.error) as exc:
            if out.getbuffer().nbytes > 0:
                break
            raise BadGzip(str(exc) or type(exc).__name__) from exc
        size += len(chunk)
        if max_size and size > max_size:
            raise BadGzip(
                f"the number of bytes decompressed so far ({size} B) exceeded the specified "
                f"maximum ({max_size} B)."
            )
        out.write(chunk)
    return out.getvalue()


def local_name(tag: object) -> str:
    """The lower-case local name of an element tag ('' for comments, PIs and entities)."""
    return etree.QName(tag).localname.lower() if isinstance(tag, str) else ""


class XmlDocument:
    """An untrusted XML body: gunzipped when it starts like gzip, then parsed incrementally.

    ``root`` is the first element's local name ('' when nothing parses); :meth:`events`
    yields the remaining ``(event, element)`` pairs; ``error`` is the first parse error that
    recovery went past (read it after iterating), ``gzip_error`` why a gzip body did not
    decompress.
    """

    def __init__(self, body: bytes, *, max_size: int = 0) -> None:
        self.gzipped = False
        self.gzip_error: str | None = None
        if body[:2] == GZIP_MAGIC:
            try:
                body = gunzip(body, max_size=max_size)
                self.gzipped = True
            except BadGzip as exc:
                self.gzip_error = str(exc)
                body = b""
        self._parser = etree.iterparse(
            BytesIO(body.lstrip()),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            recover=True,
            remove_comments=True,
            huge_tree=False,
        )
        self._iter = iter(self._parser)
        self._syntax_error: str | None = None
        self.root_element: etree._Element | None = None
        # Elements whose end never came (below the root): after a fatal error (an entity bomb
        # stopped by libxml2's amplification limit) they hold what parsed before it.
        self.unfinished: list[etree._Element] = []
        self.root = ""
        if self.gzip_error is None:
            first = self._next()
            if first is not None:
                self.root_element = first[1]
                self.root = local_name(first[1].tag)

    def _next(self) -> tuple[str, etree._Element] | None:
        try:
            item: tuple[str, etree._Element] = next(self._iter)
        except StopIteration:
            return None
        except etree.XMLSyntaxError as exc:  # nothing recoverable left
            self._syntax_error = self._syntax_error or str(exc)
            return None
        return item

    def events(self) -> Iterator[tuple[str, etree._Element]]:
        """The remaining events; :attr:`unfinished` tracks the elements still open."""
        while (item := self._next()) is not None:
            event, element = item
            if event == "start":
                self.unfinished.append(element)
            elif self.unfinished:
                self.unfinished.pop()
            yield item

    def drain(self) -> None:
        """Read the rest without keeping it, so :attr:`error` covers the whole document."""
        for event, element in self.events():
            if event == "end":
                element.clear()

    def retained(self) -> int:
        """How many elements the parsed tree holds below the root (what clearing keeps small)."""
        root = self.root_element
        return 0 if root is None else sum(1 for _ in root.iter()) - 1

    @property
    def error(self) -> str | None:
        """The first parse error met so far (recovered or not), or None for clean XML."""
        log = self._parser.error_log
        if len(log):
            return str(log[0].message)
        return self._syntax_error


def release(element: etree._Element) -> None:
    """Free an element that has been read, and the siblings read before it."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
