"""Export speed and memory on a large synthetic archive, beside a plain SELECT dump of the same rows.

    python bench/export.py                                   # 1,000,000 articles, SQLite + PostgreSQL
    python bench/export.py --articles 100000 --captures 10000 --backend sqlite
    python bench/export.py --pg postgresql://postgres@127.0.0.1:5432/test

The archive is built with bulk loads through the driver (``executemany`` on SQLite, ``COPY``
on PostgreSQL, in chunks): articles with ~1.3 kB bodies,
authors, companies and tags, a copy link for one article in twenty, and ``--captures`` stored
captures (zlib-compressed HTML pages of ~2.5 kB with headers). The full-text index is left out
(export never reads it; building it would triple the set-up time): on SQLite the FTS5 insert
trigger is dropped, on PostgreSQL the generated ``search_vector`` column.

Each measurement runs in a fresh child process that reports its own wall time and peak RSS
(``getrusage``), so one task's memory never shows in another's:

- ``select``: a plain ``SELECT`` of the default export columns in id order, streamed, each row
  written as one tab-separated line — the floor any export pays for reading the rows;
- ``parquet`` / ``jsonl``: ``export_to_file`` with the default fields;
- ``select-captures`` / ``warc``: the same for the captures (``html_gz`` written as read) and the
  WARC export (decompression, WARC records, gzip per record).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from newsarchive.archive import open_archive
from newsarchive.archive.models import Base, Source

logger = logging.getLogger(__name__)

CHUNK = 5000
START = datetime(2023, 1, 1, tzinfo=UTC)
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
SELECT_COLUMNS = (
    "a.id, a.url, a.canonical_url, s.name, a.title, a.body, a.published, a.authors, a.lang, "
    "a.last_seen, a.content_sha256"
)


def _paragraphs(n: int = 2000) -> list[str]:
    rng = random.Random(19)
    words = [
        "".join(rng.choices("abcdefghijklmnoprstuvwy", k=rng.randint(2, 10))) for _ in range(5000)
    ]
    return [" ".join(rng.choices(words, k=55)).capitalize() + "." for _ in range(n)]


PARAGRAPHS = _paragraphs()
COMPANIES = ["Renault", "Toyota", "BYD", "Volkswagen", "Stellantis", "Hyundai", "Bosch", "CATL"]
LANGS = ["en", "de", "fr", "it", "es", "zh", "ja"]


def _article(n: int, n_sources: int) -> dict[str, Any]:
    """Article ``n`` as a row of the ``articles`` table (lists as JSON text, times aware UTC).

    Keyed by column name, so the loader's column list comes from the row itself and is checked
    against the model (``_columns``): a column renamed or added in the schema fails here loudly
    instead of shifting values into the wrong columns.
    """
    p = PARAGRAPHS
    body = "\n".join(p[(n * k + 7) % len(p)] for k in (1, 3, 7, 11))
    seen = START + timedelta(minutes=n)
    dated = n % 4 != 0
    url = f"https://site{n % n_sources}.example/news/{n}"
    return {
        "id": n,
        "source_id": n % n_sources + 1,
        "url": url,
        "canonical_url": url,
        "title": f"Synthetic story {n}: {p[n % len(p)][:60]}",
        "body": body,
        "published": seen - timedelta(hours=3) if dated else None,
        "published_offset": (60 if n % 3 else -300) if dated else None,
        "modified": None,
        "date_source": ("jsonld", "meta", "htmldate")[n % 3] if dated else None,
        "date_flags": "[]",
        "authors": json.dumps([f"Author {n % 997}"] if n % 5 else []),
        "organisations": json.dumps(["Reuters"] if n % 11 == 0 else []),
        "lang": LANGS[n % len(LANGS)],
        "description": None,
        "image": None,
        "section": None,
        "tags": json.dumps(["ev", "industry"] if n % 2 else []),
        "companies": json.dumps([COMPANIES[n % 8], COMPANIES[(n // 8) % 8]]),
        "word_count": len(body.split()),
        "content_sha256": f"{n:064x}",
        "version": 1,
        "first_seen": seen,
        "last_seen": seen + timedelta(days=1),
    }


def _page(n: int, body: str) -> bytes:
    paragraphs = "".join(f"<p>{line}</p>\n" for line in body.split("\n"))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Story {n}</title>'
        f'<meta property="article:published_time" content="2024-01-01T10:00:00+01:00">'
        f"</head><body><header><nav>Home | News | EV</nav></header><article><h1>Story {n}</h1>"
        f"{paragraphs}</article><footer>Footer text</footer></body></html>"
    ).encode()


def _capture(article: dict[str, Any]) -> dict[str, Any]:
    """The stored capture of ``article``: its page as the archive keeps it (zlib-compressed)."""
    html = _page(article["id"], article["body"])
    return {
        "id": article["id"],
        "source_id": article["source_id"],
        "article_id": article["id"],
        "url": article["url"],
        "final_url": article["url"],
        "fetched_at": article["last_seen"],
        "status": 200,
        "headers": json.dumps({"content-type": "text/html; charset=utf-8"}),
        "html_gz": zlib.compress(html, 6),
        "encoding": "utf-8",
        "size": len(html),
        "extraction_status": "ok",
    }


def _sqlite_value(value: Any) -> Any:
    """SQLite keeps times as naive UTC text (the archive's TZDateTime)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


def _columns(table: str, row: dict[str, Any]) -> list[str]:
    """The row's columns, each checked against the model's table of that name."""
    unknown = set(row) - set(Base.metadata.tables[table].columns.keys())
    if unknown:
        raise SystemExit(f"bench rows name columns that {table} does not have: {sorted(unknown)}")
    return list(row)


def _load(raw: Any, dialect: str, table: str, rows: list[dict[str, Any]]) -> None:
    """Bulk rows through the driver: executemany on SQLite, COPY on PostgreSQL."""
    if not rows:
        return
    columns = _columns(table, rows[0])
    cur = raw.cursor()
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        cur.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            [tuple(_sqlite_value(r[c]) for c in columns) for r in rows],
        )
    else:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    cur.close()


def build(url: str, articles: int, captures: int) -> float:
    """Create the synthetic archive; returns the seconds it took."""
    started = time.perf_counter()
    archive = open_archive(url)
    dialect = archive.engine.dialect.name
    try:
        with archive.engine.begin() as conn:
            if dialect == "sqlite":
                conn.execute(text("DROP TRIGGER IF EXISTS articles_fts_ai"))
            else:
                conn.execute(text("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector"))
            conn.execute(
                insert(Source), [{"name": f"site{i}", "language": "en"} for i in range(12)]
            )
        raw = archive.engine.raw_connection()
        try:
            for lo in range(1, articles + 1, CHUNK):
                rows = [_article(n, 12) for n in range(lo, min(lo + CHUNK, articles + 1))]
                _load(raw, dialect, "articles", rows)
                copies = [
                    {
                        "article_id": r["id"],
                        "original_id": r["id"] - 1,
                        "kind": "near",
                        "score": 0.8,
                        "created_at": r["last_seen"],
                    }
                    for r in rows
                    if r["id"] % 20 == 0
                ]
                _load(raw, dialect, "duplicates", copies)
                _load(raw, dialect, "captures", [_capture(r) for r in rows if r["id"] <= captures])
                raw.commit()
                if lo % 100_000 == 1:
                    logger.info("built %d articles", lo + CHUNK - 1)
            if dialect == "postgresql":
                raw.cursor().execute("ANALYZE")
                raw.commit()
        finally:
            raw.close()
    finally:
        archive.dispose()
    return time.perf_counter() - started


def _dump(url: str, out: Path, captures: bool) -> int:
    archive = open_archive(url, create=False)
    sql = (
        "SELECT id, url, final_url, fetched_at, status, headers, html_gz FROM captures "
        "WHERE html_gz IS NOT NULL ORDER BY id"
        if captures
        else f"SELECT {SELECT_COLUMNS} FROM articles a JOIN sources s ON s.id = a.source_id "
        "WHERE NOT EXISTS (SELECT 1 FROM duplicates d WHERE d.article_id = a.id) ORDER BY a.id"
    )
    n = 0
    try:
        with archive.engine.connect() as conn, out.open("wb") as fh:
            result = conn.execution_options(yield_per=1000).execute(text(sql))
            for part in result.partitions(1000):
                for row in part:
                    fh.write(
                        b"\t".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
                        + b"\n"
                    )
                n += len(part)
    finally:
        archive.dispose()
    return n


def child(task: str, url: str, out: Path) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    from newsarchive.archive.export import export_to_file
    from newsarchive.archive.search import SearchFilters

    started = time.perf_counter()
    if task in ("select", "select-captures"):
        rows = _dump(url, out, captures=task == "select-captures")
    else:
        with open_archive(url, create=False) as archive, archive.session() as s:
            # WARC: every capture, as the plain SELECT of captures reads them
            filters = SearchFilters(include_duplicates=task == "warc")
            rows = export_to_file(s, task, out, filters, force=True).rows
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"task": task, "rows": rows, "seconds": seconds, "peak_rss_mb": peak_mb}


def _measure(task: str, url: str, workdir: Path) -> dict[str, Any]:
    suffix = {"parquet": "parquet", "jsonl": "jsonl", "warc": "warc.gz"}.get(task, "tsv")
    out = workdir / f"{task}.{suffix}"
    proc = subprocess.run(
        [sys.executable, "-P", __file__, "--child", task, "--url", url, "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["mb_out"] = out.stat().st_size / 1e6
    out.unlink()
    for extra in out.parent.glob(out.name + ".*"):
        extra.unlink()
    return result


def run_backend(name: str, url: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    build_s = build(url, args.articles, args.captures)
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    lines = [
        (
            f"{name}: built {args.articles:,} articles and {args.captures:,} captures in {build_s:.0f} s"
            f" (load average {load} on {os.cpu_count()} cores)"
        )
    ]
    results = {task: _measure(task, url, workdir) for task in args.tasks}
    for task, r in results.items():
        base = results.get("select-captures" if "captures" in task or task == "warc" else "select")
        ratio = f"{r['seconds'] / base['seconds']:.2f}x" if base else "-"
        lines.append(
            f"  {task:<16} {r['rows']:>9,} rows {r['seconds']:>8.1f} s out {r['mb_out']:>7.1f} MB  "
            f"peak RSS {r['peak_rss_mb']:>6.0f} MB   {ratio} of its SELECT"
        )
    print("\n".join(lines), flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--captures", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server (a scratch schema)")
    parser.add_argument(
        "--tasks", default="select,parquet,jsonl,select-captures,warc", type=lambda v: v.split(",")
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, args.out)))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        workdir = Path(tmp)
        report: list[str] = []
        if args.backend in ("sqlite", "both"):
            report += run_backend("sqlite", str(workdir / "bench.db"), args, workdir)
            (workdir / "bench.db").unlink()
        if args.backend in ("postgresql", "both"):
            import psycopg

            schema = f"bench_export_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            try:
                url = f"{args.pg}?options=-csearch_path%3D{schema}"
                report += run_backend("postgresql", url, args, workdir)
            finally:
                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print("\nsummary\n" + "\n".join(report))


if __name__ == "__main__":
    main()
