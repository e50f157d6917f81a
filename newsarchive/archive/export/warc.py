"""WARC export of the raw captures, so others can re-run an extractor on the archive's bytes.

For each stored capture of an exported article, three records (gzip per record, WARC/1.0):

- ``request``: ``GET`` of the fetched URL (the archive keeps no request headers, only ``Host``);
- ``response``: the status line from the stored status code, the headers the archive kept
  (``store.KEPT_HEADERS``) and the body bytes exactly as they were stored. The body is the
  decoded transfer (the crawler removed any gzip/br), so ``Content-Encoding`` and
  ``Content-Length`` are renamed ``X-Archive-Orig-…`` and ``Content-Length`` is the stored body's
  length — a reader decoding by the headers gets the stored bytes back;
- ``metadata`` (``application/warc-fields``, ``WARC-Refers-To`` the response): the capture and
  article ids, the exact fetch time, the declared encoding and the source language hint, i.e.
  every input of ``newsarchive.extraction.extract``, plus the extractor's versions.

Record ids are derived from the capture id (UUID 5) and dates from the fetch time, and gzip
members carry no timestamp, so the same archive gives a byte-identical file.
"""

from __future__ import annotations

import http
import logging
import uuid
import zlib
from importlib.metadata import PackageNotFoundError, version
from io import BytesIO
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import select

from newsarchive import __version__
from newsarchive.archive.models import Article, Capture, Duplicate, Source
from newsarchive.archive.search import SearchFilters, filter_clauses, match_clause
from newsarchive.archive.searchquery import matches, parse_query

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

WARC_BATCH = 200
_NAMESPACE = uuid.UUID("5b1f0b5e-7d2a-4c39-9a56-0b6e2f1d4c21")
_RENAMED = ("content-encoding", "content-length", "transfer-encoding")


def extractor_versions() -> dict[str, str]:
    """The versions that decide what extraction makes of a page."""
    found = {"newsarchive": __version__}
    for package in ("trafilatura", "htmldate", "dateparser", "lxml"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def _record_id(capture_id: int, kind: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(_NAMESPACE, f'capture/{capture_id}/{kind}')}>"


def _warc_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def response_headers(stored: dict[str, Any], body_length: int) -> list[tuple[str, str]]:
    """The stored headers for a response record whose payload is the decoded body."""
    headers = []
    for name, value in stored.items():
        key = name.lower()
        if key in _RENAMED:
            headers.append((f"X-Archive-Orig-{name}", str(value)))
        else:
            headers.append((name, str(value)))
    headers.append(("Content-Length", str(body_length)))
    return headers


def _captures(session: Session, filters: SearchFilters, query: str | None) -> Iterator[list[Any]]:
    parsed = parse_query(query) if query is not None else None
    stmt = (
        select(
            Capture.id,
            Capture.url,
            Capture.final_url,
            Capture.fetched_at,
            Capture.status,
            Capture.headers,
            Capture.html_gz,
            Capture.encoding,
            Capture.article_id,
            Capture.run_id,
            Capture.extraction_status,
            Source.name,
            Source.language,
            Article.title,
            Article.body,
        )
        .join(Article, Article.id == Capture.article_id)
        .join(Source, Source.id == Article.source_id)
        .outerjoin(Duplicate, Duplicate.article_id == Article.id)
        .where(Capture.html_gz.is_not(None), *filter_clauses(filters))
        .order_by(Capture.id)
        .execution_options(yield_per=WARC_BATCH)
    )
    if parsed is not None:
        stmt = stmt.where(match_clause(session, parsed))
    result = session.execute(stmt)
    try:
        for part in result.partitions(WARC_BATCH):
            if parsed is None:
                yield list(part)
            else:
                yield [r for r in part if matches(parsed, r.title, r.body)]
    finally:
        result.close()


def write_warc(
    session: Session, out: IO[bytes], filters: SearchFilters, query: str | None = None
) -> int:
    """Write the WARC of the exported articles' captures; returns the number of captures."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    writer = WARCWriter(out, gzip=True, warc_version="1.0")
    versions = extractor_versions()
    n = 0
    for batch in _captures(session, filters, query):
        for row in batch:
            body = zlib.decompress(row.html_gz)
            date = _warc_date(row.fetched_at)
            try:
                reason = http.HTTPStatus(row.status).phrase
            except ValueError:
                reason = ""
            response = writer.create_warc_record(
                row.final_url,
                "response",
                payload=BytesIO(body),
                length=len(body),
                http_headers=StatusAndHeaders(
                    f"{row.status} {reason}".strip(),
                    response_headers(row.headers or {}, len(body)),
                    protocol="HTTP/1.1",
                ),
                warc_headers_dict={
                    "WARC-Record-ID": _record_id(row.id, "response"),
                    "WARC-Date": date,
                },
            )
            parts = urlsplit(row.final_url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            request = writer.create_warc_record(
                row.final_url,
                "request",
                http_headers=StatusAndHeaders(
                    f"GET {target} HTTP/1.1",
                    [("Host", parts.netloc)],
                    is_http_request=True,
                ),
                warc_headers_dict={
                    "WARC-Record-ID": _record_id(row.id, "request"),
                    "WARC-Date": date,
                },
            )
            writer.write_request_response_pair(request, response)
            fields = {
                "capture-id": row.id,
                "article-id": row.article_id,
                "source": row.name,
                "requested-url": row.url,
                "fetched-at": row.fetched_at.isoformat(),
                "encoding": row.encoding or "",
                "source-language": row.language or "",
                "extraction-status": row.extraction_status,
                "crawl-run": row.run_id if row.run_id is not None else "",
                **{f"extractor-{k}": v for k, v in versions.items()},
            }
            block = "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode("utf-8")
            writer.write_record(
                writer.create_warc_record(
                    row.final_url,
                    "metadata",
                    payload=BytesIO(block),
                    length=len(block),
                    warc_content_type="application/warc-fields",
                    warc_headers_dict={
                        "WARC-Record-ID": _record_id(row.id, "metadata"),
                        "WARC-Date": date,
                        "WARC-Refers-To": _record_id(row.id, "response"),
                    },
                )
            )
            n += 1
    return n
