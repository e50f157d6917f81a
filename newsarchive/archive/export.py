"""Export for researchers: JSON Lines, CSV or Parquet, streamed, reproducible, with a manifest.

Rows are read in id order through a streaming cursor (``yield_per``; a server-side cursor on
PostgreSQL), ``EXPORT_BATCH`` at a time, and written as they come, so memory does not grow with
the archive. Output depends only on the archive and the arguments: the same archive and the same
arguments give a byte-identical data file (the manifest's ``created_at`` is the only moving part,
and it lives in the manifest, not the data).

Fields, in this order: ``FIELDS``. ``published`` and ``fetched_at`` (the article's last
sighting) are ISO 8601 in UTC with an explicit offset; CSV joins authors with ``"; "`` and writes
nulls as empty cells. Copies are exported only with ``include_duplicates``; by default each row
is an original with its number of copies in ``duplicate_count``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select, text

from newsarchive import __version__
from newsarchive.archive.models import Article, Duplicate, Source
from newsarchive.archive.search import (
    SearchFilters,
    duplicate_count_column,
    filter_clauses,
    match_clause,
)
from newsarchive.archive.searchquery import matches, parse_query
from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "parquet")
EXPORT_BATCH = 500
FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "integer"),
    ("url", "string"),
    ("canonical_url", "string"),
    ("source", "string"),
    ("title", "string or null"),
    ("body", "string"),
    ("published", "ISO 8601 UTC date-time or null"),
    ("authors", "list of string"),
    ("lang", "string or null"),
    ("fetched_at", "ISO 8601 UTC date-time"),
    ("content_sha256", "string"),
    ("duplicate_count", "integer"),
    ("duplicate_of", "integer or null"),
)
FIELD_NAMES = tuple(name for name, _ in FIELDS)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def iter_export_rows(
    session: Session, filters: SearchFilters, query: str | None = None
) -> Iterator[dict[str, Any]]:
    """Export rows in id order, streamed; ``query`` uses the search language and its rules."""
    parsed = parse_query(query) if query is not None else None
    stmt = (
        select(
            Article.id,
            Article.url,
            Article.canonical_url,
            Source.name.label("source"),
            Article.title,
            Article.body,
            Article.published,
            Article.authors,
            Article.lang,
            Article.last_seen,
            Article.content_sha256,
            duplicate_count_column().label("duplicate_count"),
            Duplicate.original_id.label("duplicate_of"),
        )
        .join(Source, Source.id == Article.source_id)
        .outerjoin(Duplicate, Duplicate.article_id == Article.id)
        .where(*filter_clauses(filters))
        .order_by(Article.id)
        .execution_options(yield_per=EXPORT_BATCH)
    )
    if parsed is not None:
        stmt = stmt.where(match_clause(session, parsed))
    result = session.execute(stmt)
    try:
        for row in result:
            if parsed is not None and not matches(parsed, row.title, row.body):
                continue
            yield {
                "id": row.id,
                "url": row.url,
                "canonical_url": row.canonical_url,
                "source": row.source,
                "title": row.title,
                "body": row.body,
                "published": row.published,
                "authors": [str(a) for a in (row.authors or [])],
                "lang": row.lang,
                "fetched_at": row.last_seen,
                "content_sha256": row.content_sha256,
                "duplicate_count": int(row.duplicate_count or 0),
                "duplicate_of": row.duplicate_of,
            }
    finally:
        result.close()


def _write_jsonl(rows: Iterator[dict[str, Any]], out: IO[bytes]) -> int:
    n = 0
    for row in rows:
        row["published"] = _iso(row["published"])
        row["fetched_at"] = _iso(row["fetched_at"])
        out.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
        n += 1
    return n


def _write_csv(rows: Iterator[dict[str, Any]], out: IO[bytes]) -> int:
    wrapper = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    try:
        writer = csv.writer(wrapper, lineterminator="\n")
        writer.writerow(FIELD_NAMES)
        n = 0
        for row in rows:
            row["published"] = _iso(row["published"])
            row["fetched_at"] = _iso(row["fetched_at"])
            row["authors"] = "; ".join(row["authors"])
            writer.writerow(["" if row[f] is None else row[f] for f in FIELD_NAMES])
            n += 1
        wrapper.flush()
    finally:
        wrapper.detach()
    return n


def parquet_schema() -> pa.Schema:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("url", pa.string(), nullable=False),
            pa.field("canonical_url", pa.string(), nullable=False),
            pa.field("source", pa.string(), nullable=False),
            pa.field("title", pa.string()),
            pa.field("body", pa.string(), nullable=False),
            pa.field("published", ts),
            pa.field("authors", pa.list_(pa.string()), nullable=False),
            pa.field("lang", pa.string()),
            pa.field("fetched_at", ts, nullable=False),
            pa.field("content_sha256", pa.string(), nullable=False),
            pa.field("duplicate_count", pa.int64(), nullable=False),
            pa.field("duplicate_of", pa.int64()),
        ]
    )


def _write_parquet(rows: Iterator[dict[str, Any]], out: IO[bytes]) -> int:
    """One row group per ``EXPORT_BATCH`` rows, so only one batch is ever held in memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    n = 0
    batch: list[dict[str, Any]] = []
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:

        def flush() -> None:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            batch.clear()

        for row in rows:
            batch.append(row)
            n += 1
            if len(batch) >= EXPORT_BATCH:
                flush()
        if batch or n == 0:
            flush()
    return n


_WRITERS = {"jsonl": _write_jsonl, "csv": _write_csv, "parquet": _write_parquet}


def write_export(
    session: Session,
    fmt: str,
    out: IO[bytes],
    filters: SearchFilters,
    query: str | None = None,
) -> int:
    """Stream the export to a binary stream; returns the number of rows."""
    if fmt not in _WRITERS:
        raise ConfigError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    if query is not None:
        parse_query(query)  # fail before the first byte is written
    rows = iter_export_rows(session, filters, query)
    try:
        return _WRITERS[fmt](rows, out)
    finally:
        rows.close()  # release the cursor now, even if the writer failed (closed pipe…)


@dataclass(slots=True)
class ExportResult:
    path: Path
    manifest_path: Path
    rows: int
    sha256: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export_to_file(
    session: Session,
    fmt: str,
    path: Path,
    filters: SearchFilters,
    query: str | None = None,
) -> ExportResult:
    """Write the data file (atomically) and ``<file>.manifest.json`` describing it."""
    if fmt not in _WRITERS:
        raise ConfigError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    try:
        with tmp.open("wb") as out:
            rows = write_export(session, fmt, out, filters, query)
        tmp.replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    digest = _sha256(path)
    revision = session.scalar(text("SELECT version_num FROM alembic_version"))
    manifest = {
        "file": path.name,
        "format": fmt,
        "created_at": datetime.now(UTC).isoformat(),
        "newsarchive_version": __version__,
        "schema_revision": revision,
        "filters": {**filters.describe(), "query": query},
        "order": "id",
        "rows": rows,
        "fields": [{"name": name, "type": kind} for name, kind in FIELDS],
        "sha256": digest,
    }
    manifest_path = path.with_name(path.name + ".manifest.json")
    manifest_path.write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    logger.info("exported %d rows to %s", rows, path)
    return ExportResult(path, manifest_path, rows, digest)
