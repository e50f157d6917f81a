"""Row writers: JSON Lines, CSV and Parquet, each fed batches from :class:`RowStream`.

Values by type (``schema.Kind``): timestamps are ISO 8601 — ``published`` in the offset the
publisher gave (``Z`` when the page gave none), the archive's own times in UTC — and lists are
JSON arrays (CSV: joined with ``"; "``). Nulls are JSON ``null`` and empty CSV cells.

CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return; OWASP's list) get a leading ``'``: a dataset of scraped text must not
execute when a researcher opens it. Only text cells are escaped; numbers and times never start
with those characters except a negative ``published_offset``, which stays a number.

Parquet is written one row group per ``ROW_GROUP`` rows with a typed schema: ``timestamp[us,
UTC]`` times, ``list<string>`` lists, int64/float64 numbers; ``published_offset`` always
travels with ``published`` there, since a UTC timestamp cannot carry the publisher's offset.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import UTC, timedelta, timezone
from typing import IO, TYPE_CHECKING, Any

from newsarchive.archive.export.schema import BY_NAME, Field, Kind

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from datetime import datetime

    import pyarrow as pa

    from newsarchive.archive.export.rows import RowStream

logger = logging.getLogger(__name__)

ROW_GROUP = 10_000
# zstd 3 (zstd's own default): about half the size of Arrow's default level 1, at the same speed
ZSTD_LEVEL = 3
DICTIONARY_FIELDS = ("source", "lang", "date_source", "section", "duplicate_kind")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def iso_utc(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def iso_published(value: datetime | None, offset_minutes: int | None) -> str | None:
    """``published`` as the publisher wrote it: in its offset, or UTC ``Z`` if it gave none."""
    if value is None:
        return None
    if offset_minutes is None:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.astimezone(timezone(timedelta(minutes=offset_minutes))).isoformat()


def csv_safe(text: str) -> str:
    """OWASP CSV-injection escaping: a leading ``'`` on a cell a spreadsheet would evaluate."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def text_converters(stream: RowStream, *, for_csv: bool) -> list[Callable[[tuple[Any, ...]], Any]]:
    """One function per exported field: a row tuple → that field's JSON (or CSV) value."""
    converters: list[Callable[[tuple[Any, ...]], Any]] = []
    for i, f in enumerate(stream.fields):
        converters.append(_converter(i, f, stream, for_csv))
    return converters


def _converter(
    i: int, f: Field, stream: RowStream, for_csv: bool
) -> Callable[[tuple[Any, ...]], Any]:
    if f.name == "published":
        off = stream.pos("published_offset")
        return lambda r: iso_published(r[i], r[off])
    if f.kind is Kind.TIMESTAMP:
        return lambda r: iso_utc(r[i])
    if f.kind is Kind.LIST:
        if for_csv:
            return lambda r: csv_safe("; ".join(str(a) for a in _listed(r[i])))
        return lambda r: [str(a) for a in _listed(r[i])]
    if f.kind is Kind.INTEGER:
        if f.nullable:
            return lambda r: None if r[i] is None else int(r[i])
        return lambda r: int(r[i] or 0)
    if f.kind is Kind.FLOAT:
        return lambda r: None if r[i] is None else float(r[i])
    if for_csv:
        return lambda r: None if r[i] is None else csv_safe(str(r[i]))
    return lambda r: r[i]


def _listed(value: Any) -> list[Any]:
    """A list field's value: a list, or JSON text (aggregates such as ``topics``), or null."""
    if isinstance(value, str):
        return list(json.loads(value))
    return list(value or [])


def write_jsonl(stream: RowStream, batches: Iterator[list[tuple[Any, ...]]], out: IO[bytes]) -> int:
    names = [f.name for f in stream.fields]
    conv = text_converters(stream, for_csv=False)
    n = 0
    write = out.write
    for batch in batches:
        for r in batch:
            row = dict(zip(names, [c(r) for c in conv], strict=True))
            write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
        n += len(batch)
    return n


def write_csv(stream: RowStream, batches: Iterator[list[tuple[Any, ...]]], out: IO[bytes]) -> int:
    wrapper = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    conv = text_converters(stream, for_csv=True)
    n = 0
    try:
        writer = csv.writer(wrapper, lineterminator="\n")
        writer.writerow([f.name for f in stream.fields])
        for batch in batches:
            for r in batch:
                writer.writerow(["" if v is None else v for v in (c(r) for c in conv)])
            n += len(batch)
        wrapper.flush()
    finally:
        wrapper.detach()
    return n


def parquet_fields(fields: Sequence[Field]) -> tuple[Field, ...]:
    """The Parquet column list: ``published_offset`` follows ``published`` if not given."""
    names = [f.name for f in fields]
    if "published" in names and "published_offset" not in names:
        at = names.index("published") + 1
        return (*fields[:at], BY_NAME["published_offset"], *fields[at:])
    return tuple(fields)


def _arrow_type(kind: Kind) -> pa.DataType:
    import pyarrow as pa

    return {
        Kind.INTEGER: pa.int64(),
        Kind.FLOAT: pa.float64(),
        Kind.STRING: pa.string(),
        Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
        Kind.LIST: pa.list_(pa.string()),
    }[kind]


def parquet_schema(fields: Sequence[Field]) -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [pa.field(f.name, _arrow_type(f.kind), nullable=f.nullable) for f in fields],
        metadata={"newsarchive.fields": json.dumps([f.describe() for f in fields])},
    )


def write_parquet(
    stream: RowStream, batches: Iterator[list[tuple[Any, ...]]], out: IO[bytes]
) -> int:
    """Row groups of ``ROW_GROUP`` rows, built column by column (only one group in memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema(stream.fields)
    pending: list[tuple[Any, ...]] = []
    n = 0
    # dictionary encoding only where values repeat (source, language…), not for bodies and URLs
    repeated = [f.name for f in stream.fields if f.name in DICTIONARY_FIELDS]
    # min/max statistics where a reader filters on them, not for bodies, URLs and hashes
    stats = [f.name for f in stream.fields if f.kind is not Kind.STRING or f.name in repeated]
    with pq.ParquetWriter(
        out,
        schema,
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        use_dictionary=repeated,
        write_statistics=stats,
    ) as writer:

        def flush() -> None:
            columns = list(zip(*pending, strict=True)) if pending else [()] * len(stream.fields)
            arrays = [
                _arrow_column(f, columns[i], schema.field(i).type)
                for i, f in enumerate(stream.fields)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            pending.clear()

        for batch in batches:
            pending += batch
            n += len(batch)
            if len(pending) >= ROW_GROUP:
                flush()
        if pending or n == 0:
            flush()
    return n


def _arrow_column(f: Field, values: Sequence[Any], arrow_type: pa.DataType) -> pa.Array:
    """One column of a row group; undecoded values (``RowStream.raw``) are decoded in bulk."""
    import pyarrow as pa

    if f.kind is Kind.LIST:
        if any(isinstance(v, str) for v in values):  # JSON text: one parse for the batch
            values = json.loads("[" + ",".join(v or "[]" for v in values) + "]")
        else:
            values = [[str(a) for a in v] if v else [] for v in values]
    elif f.kind is Kind.TIMESTAMP:
        sample = next((v for v in values if v is not None), None)
        if isinstance(sample, str):  # SQLite's 'YYYY-MM-DD HH:MM:SS.ffffff', UTC
            return pa.array(values, pa.string()).cast(pa.timestamp("us")).cast(arrow_type)
        if isinstance(sample, int):  # PostgreSQL: microseconds since the epoch
            return pa.array(values, pa.int64()).cast(arrow_type)
    elif f.kind is Kind.INTEGER and not f.nullable:
        values = [v or 0 for v in values]
    return pa.array(values, type=arrow_type)


WRITERS: dict[str, Callable[[RowStream, Iterator[list[tuple[Any, ...]]], IO[bytes]], int]] = {
    "jsonl": write_jsonl,
    "csv": write_csv,
    "parquet": write_parquet,
}
EXTENSIONS = {"jsonl": "jsonl", "csv": "csv", "parquet": "parquet", "warc": "warc.gz"}
