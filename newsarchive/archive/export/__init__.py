"""Export for researchers: JSON Lines, CSV, Parquet or WARC, streamed, reproducible, described.

Rows stream in id order from one cursor (:mod:`.rows`), so memory does not grow with the archive,
and are written as they come (:mod:`.writers`; WARC of the raw captures in :mod:`.warc`). Output
depends only on the archive and the arguments: the same archive and the same arguments give
byte-identical data files (the manifest's ``created_at`` is the only moving part, and it lives in
the manifest, not the data).

Which fields, their order, types and meanings: :mod:`.schema` (``--fields``; the default set is
``DEFAULT_FIELDS``). ``partition_by`` (month, source or lang) writes one file per partition into
a directory — Hive-style ``key=value/part-0.parquet`` directories for Parquet, ``key=value.jsonl``
files for JSON Lines and CSV — with a ``_manifest.json`` listing every file with its rows and
SHA-256; a single-file export gets ``FILE.manifest.json``. ``card`` adds a Markdown dataset card
(:mod:`.card`; ``FILE.card.md`` or ``_card.md``: loaders skip names starting with ``_``).

Safety: an export never writes over the archive it reads, nor over an existing file or
directory that is not a previous export (one with its manifest) unless ``force``; data files,
manifest and card are each written to a temporary name and renamed into place, so a reader never
sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import text

from newsarchive import __version__
from newsarchive.archive.export.card import CARD_EXTRAS, CardStats, render_card
from newsarchive.archive.export.rows import (
    RowStream,
    distinct_values,
    effective_date_bounds,
    prefetched,
)
from newsarchive.archive.export.schema import (
    DEFAULT_FIELDS,
    SCHEMA,
    SCHEMA_VERSION,
    Field,
    describe_schema,
    parse_field_list,
    select_fields,
)
from newsarchive.archive.export.warc import extractor_versions, write_warc
from newsarchive.archive.export.writers import EXTENSIONS, WRITERS, parquet_fields
from newsarchive.archive.models import Article, Source
from newsarchive.archive.search import SearchFilters, article_date
from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator, Sequence

    from sqlalchemy import ColumnElement
    from sqlalchemy.orm import Session

__all__ = [
    "DEFAULT_FIELDS",
    "FIELDS",
    "FIELD_NAMES",
    "FORMATS",
    "PARTITIONS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "ExportResult",
    "export_to_file",
    "parse_field_list",
    "select_fields",
    "write_export",
]

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "parquet", "warc")
PARTITIONS = ("month", "source", "lang")
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
# The default fields as (name, type), as README's table lists them.
FIELDS: tuple[tuple[str, str], ...] = tuple((f.name, f.type_label) for f in DEFAULT_FIELDS)
FIELD_NAMES = tuple(name for name, _ in FIELDS)


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")


def _stream(
    fmt: str,
    filters: SearchFilters,
    query: str | None,
    fields: Sequence[Field] | None,
    extras: tuple[str, ...] = (),
) -> RowStream:
    chosen = DEFAULT_FIELDS if fields is None else tuple(fields)
    if fmt == "parquet":
        chosen = parquet_fields(chosen)
    if "published" in [f.name for f in chosen]:
        extras = ("published_offset", *extras)
    return RowStream(chosen, filters, query, extras, raw=fmt == "parquet")


def write_export(
    session: Session,
    fmt: str,
    out: IO[bytes],
    filters: SearchFilters,
    query: str | None = None,
    fields: Sequence[Field] | None = None,
) -> int:
    """Stream the export to a binary stream; returns the number of rows (WARC: captures)."""
    _check_format(fmt)
    if fmt == "warc":
        if fields is not None:
            raise ConfigError("--fields does not apply to WARC (it holds the raw captures)")
        return write_warc(session, out, filters, query)
    stream = _stream(fmt, filters, query, fields)
    batches = stream.batches(session)
    try:
        return WRITERS[fmt](stream, batches, out)
    finally:
        batches.close()  # release the cursor now, even if the writer failed (closed pipe…)


@dataclass(slots=True)
class ExportResult:
    path: Path
    manifest_path: Path
    rows: int
    sha256: str | None  # of the one data file; None for a partitioned export
    files: list[dict[str, Any]] = field(default_factory=list)
    card_path: Path | None = None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` under a temporary name and rename it into place (readers see old or new)."""
    tmp = path.with_name(path.name + ".partial")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def manifest_path_for(path: Path, partitioned: bool) -> Path:
    return path / "_manifest.json" if partitioned else path.with_name(path.name + ".manifest.json")


def _archive_files(session: Session) -> set[Path]:
    url = session.get_bind().engine.url
    if not url.drivername.startswith("sqlite") or not url.database:
        return set()
    db = Path(url.database).resolve()
    return {db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")}


def check_target(session: Session, path: Path, *, partitioned: bool, force: bool) -> None:
    """Refuse to write over the archive, or over anything that is not a previous export."""
    if path.resolve() in _archive_files(session):
        raise ConfigError(f"{path} is the archive itself: choose another output path")
    if not path.exists() and not path.is_symlink():
        return
    if partitioned and not path.is_dir():
        raise ConfigError(f"{path} exists and is not a directory (a partitioned export is one)")
    if not partitioned and path.is_dir():
        raise ConfigError(f"{path} is a directory: give a file name (or --partition-by)")
    previous = manifest_path_for(path, partitioned).exists()
    empty_dir = partitioned and not any(path.iterdir())
    if not (previous or empty_dir or force):
        raise ConfigError(
            f"{path} exists and is not a previous export (no manifest beside it): "
            "use --force to overwrite it"
        )


def _partitions(
    session: Session, stream: RowStream, key: str
) -> Iterator[tuple[str, ColumnElement[bool]]]:
    """(value, WHERE clause) per partition, in order; each clause uses an index."""
    if key == "month":
        low, high = effective_date_bounds(session, stream)
        if low is None:
            return
        year, month = low.year, low.month
        while (year, month) <= (high.year, high.month):
            start = datetime(year, month, 1, tzinfo=UTC)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            end = datetime(year, month, 1, tzinfo=UTC)
            yield start.strftime("%Y-%m"), (article_date() >= start) & (article_date() < end)
    elif key == "source":
        for name in distinct_values(session, stream, Source.name):
            yield name, Source.name == name
    else:
        for lang in distinct_values(session, stream, Article.lang):
            yield (
                (HIVE_NULL, Article.lang.is_(None))
                if lang is None
                else (lang, Article.lang == lang)
            )


def _write_file(
    session: Session, fmt: str, stream: RowStream, path: Path, card: CardStats | None
) -> int | None:
    """One data file from ``stream``; None (and no file) when it has no rows and may be skipped."""
    batches = stream.batches(session)
    if fmt == "parquet":
        batches = prefetched(batches)
    try:
        if card is not None:
            batches = _observed(batches, stream, card)
        tmp = path.with_name(path.name + ".partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as out:
            rows = WRITERS[fmt](stream, batches, out)
        tmp.replace(path)
        return rows
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        batches.close()
        path.with_name(path.name + ".partial").unlink(missing_ok=True)


def _observed(
    batches: Generator[list[tuple[Any, ...]]], stream: RowStream, card: CardStats
) -> Generator[list[tuple[Any, ...]]]:
    try:
        for batch in batches:
            card.observe(stream, batch)
            yield batch
    finally:
        batches.close()


def _write_partitions(
    session: Session, fmt: str, stream: RowStream, root: Path, key: str, card: CardStats | None
) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = []
    for value, clause in _partitions(session, stream, key):
        part = stream.narrowed(clause)
        batches = part.batches(session)
        first = next(batches, None)
        batches.close()
        if first is None:
            continue  # an empty month, or nothing the query matched: no file
        segment = f"{key}={quote(value, safe='')}"
        rel = f"{segment}/part-0.parquet" if fmt == "parquet" else f"{segment}.{EXTENSIONS[fmt]}"
        rows = _write_file(session, fmt, part, root / rel, card)
        files.append({"path": rel, "partition": {key: value}, "rows": rows})
    return files


def _remove_stale(root: Path, old_manifest: Path, keep: set[str]) -> None:
    """Delete the files a previous export into ``root`` listed and this one did not write."""
    try:
        previous = json.loads(old_manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for entry in previous.get("files", []):
        rel = str(entry.get("path", ""))
        target = (root / rel).resolve()
        if rel and rel not in keep and target.is_relative_to(root.resolve()):
            target.unlink(missing_ok=True)
            if target.parent != root.resolve() and not any(target.parent.iterdir()):
                target.parent.rmdir()


def export_to_file(
    session: Session,
    fmt: str,
    path: Path,
    filters: SearchFilters,
    query: str | None = None,
    *,
    fields: Sequence[Field] | None = None,
    partition_by: str | None = None,
    card: bool = False,
    force: bool = False,
) -> ExportResult:
    """Write the data (one file, or a directory of partitions), its manifest and its card."""
    _check_format(fmt)
    if partition_by is not None and partition_by not in PARTITIONS:
        raise ConfigError(f"unknown partition {partition_by!r}: use one of {', '.join(PARTITIONS)}")
    if fmt == "warc" and (partition_by or fields is not None or card):
        raise ConfigError("WARC exports take filters only (no --fields, --partition-by, --card)")
    path = Path(path)
    partitioned = partition_by is not None
    check_target(session, path, partitioned=partitioned, force=force)
    manifest_path = manifest_path_for(path, partitioned)
    stats = CardStats() if card else None
    stream = _stream(fmt, filters, query, fields, CARD_EXTRAS if card else ())
    if fmt == "warc":
        tmp = path.with_name(path.name + ".partial")
        try:
            with tmp.open("wb") as out:
                rows = write_warc(session, out, filters, query)
            tmp.replace(path)
        except OSError as exc:
            raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        files: list[dict[str, Any]] = [{"path": path.name, "rows": rows}]
    elif partition_by is None:
        rows = _write_file(session, fmt, stream, path, stats) or 0
        files = [{"path": path.name, "rows": rows}]
    else:
        path.mkdir(parents=True, exist_ok=True)
        files = _write_partitions(session, fmt, stream, path, partition_by, stats)
        _remove_stale(path, manifest_path, {f["path"] for f in files})
        rows = sum(f["rows"] for f in files)
    base = path if partitioned else path.parent
    for entry in files:
        entry["sha256"] = _sha256(base / entry["path"])
    schema = (
        describe_schema(stream.fields)
        if fmt != "warc"
        else {"version": SCHEMA_VERSION, "fields": []}
    )
    manifest: dict[str, Any] = {
        ("directory" if partitioned else "file"): path.name,
        "format": fmt,
        "created_at": datetime.now(UTC).isoformat(),
        "newsarchive_version": __version__,
        "schema_revision": session.scalar(text("SELECT version_num FROM alembic_version")),
        "schema": schema,
        "fields": schema["fields"],
        "filters": {**filters.describe(), "query": query},
        "order": "capture id" if fmt == "warc" else "id",
        "partition_by": partition_by,
        "rows": rows,
        "files": files,
    }
    if fmt == "warc":
        manifest["records"] = {"request": rows, "response": rows, "metadata": rows}
        manifest["extractor"] = extractor_versions()
    if not partitioned:
        manifest["sha256"] = files[0]["sha256"]
    write_atomically(
        manifest_path,
        (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
    )
    card_path = None
    if stats is not None:
        card_path = path / "_card.md" if partitioned else path.with_name(path.name + ".card.md")
        write_atomically(card_path, render_card(stats, manifest).encode("utf-8"))
    logger.info("exported %d rows to %s", rows, path)
    return ExportResult(path, manifest_path, rows, manifest.get("sha256"), files, card_path)
