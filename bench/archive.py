"""The archive at scale: search, stats, Parquet export and the near-duplicate check as it grows.

    python bench/archive.py                                  # 1,000,000 articles, SQLite
    python bench/archive.py --articles 100000 --db postgresql://postgres@127.0.0.1:5432/bench_archive

A synthetic archive is bulk-inserted (``executemany`` in chunks, full-text index kept: FTS5
trigger on SQLite, generated ``tsvector`` on PostgreSQL): bodies of realistic length (log-normal,
median ~450 words, 80 to 2,500) over a Zipf vocabulary that mixes industry words with
pseudo-words, 30 sources, 8 languages, dates over 5 years, and one article in ten a copy linked
to an original. Each article also gets its near-duplicate index rows (42 LSH band keys, 24
dated anchor band keys), so lookups probe an index of the real size.

At 10,000, 100,000 and 1,000,000 articles (those not above ``--articles``) it times the
near-duplicate check: ``save_page`` of fresh articles (a tenth reworked copies of stored ones),
each in a transaction that is rolled back so the archive does not grow. At the final size:
search p50/p95 for five query shapes with ``--limit 20``, ``stats``, and the Parquet export of
every row in a child process (wall time and peak RSS).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scratch import fresh_archive
from sqlalchemy import insert, text

from newsarchive.archive import open_archive
from newsarchive.archive.models import AnchorBand, ArticleSignature, Duplicate, LshBand, Source
from newsarchive.archive.models import Article as ArticleRow
from newsarchive.extraction import fingerprint
from newsarchive.items import Article, FetchedPage

logger = logging.getLogger(__name__)

CHUNK = 5000
START = datetime(2021, 1, 1, tzinfo=UTC)
DAYS = 5 * 365
SOURCES = 30
LANGS = ["en", "de", "fr", "it", "es", "pt", "zh", "ja"]
CHECKPOINTS = (10_000, 100_000, 1_000_000)
CHECKS = 200  # fresh articles per near-duplicate checkpoint
REPEATS = 25  # runs per search shape
_INDUSTRY_TEXT = """
battery plant production electric vehicle sales market supplier recall software charging
factory investment tariff emissions hybrid platform range lithium chip supply chain dealer
price model quarter profit jobs union strike export import engine motor steel aluminium
robotaxi autonomous hydrogen truck van suv sedan launch deliveries orders capacity
"""
INDUSTRY = _INDUSTRY_TEXT.split()
SHAPES = {
    "one word": ["battery", "recall", "factory", "software", "tariff"],
    "two words": [
        "battery plant",
        "electric sales",
        "software recall",
        "chip supply",
        "steel price",
    ],
    "phrase": ['"supply chain"', '"electric vehicle"', '"battery plant"', '"sales market"'],
    "prefix": ["electr*", "batter*", "produc*", "charg*", "autonom*"],
    "word+source+date": ["recall", "battery", "tariff", "software", "factory"],
}


def _vocabulary(size: int = 30_000) -> tuple[list[str], list[float]]:
    rng = random.Random(11)
    words = list(INDUSTRY)
    while len(words) < size:
        words.append("".join(rng.choices("abcdefghiklmnoprstuvz", k=rng.randint(3, 10))))
    weights = [1 / (rank + 1) ** 1.05 for rank in range(size)]
    rng.shuffle(words[len(INDUSTRY) : len(INDUSTRY) + 200])  # a few pseudo-words are common too
    return words, list(itertools.accumulate(weights))


WORDS, CUM = _vocabulary()


def body_of(n: int) -> str:
    rng = random.Random(n)
    length = min(2500, max(80, int(rng.lognormvariate(math.log(450), 0.55))))
    tokens = rng.choices(WORDS, cum_weights=CUM, k=length)
    sentences = [" ".join(tokens[i : i + 18]).capitalize() + "." for i in range(0, length, 18)]
    return "\n".join(" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5))


def _row(n: int, source_ids: list[int]) -> dict[str, Any]:
    body = body_of(n)
    when = START + timedelta(minutes=(n * 2_629) % (DAYS * 24 * 60))
    src = n % SOURCES
    url = f"https://src{src:02d}.example/news/{when:%Y/%m}/story-{n}"
    return {
        "id": n,
        "source_id": source_ids[src],
        "url": url,
        "canonical_url": url,
        "title": f"{WORDS[n % 40].capitalize()} {WORDS[(n // 40) % 40]} story {n}",
        "body": body,
        "published": when,
        "word_count": body.count(" ") + body.count("\n") + 1,
        "content_sha256": f"{n:064x}",
        "first_seen": when,
        "last_seen": when,
        "date_flags": [],
        "authors": [f"Author {n % 1500}"],
        "organisations": [],
        "tags": [],
        "companies": [],
        "lang": LANGS[src % len(LANGS)],
        "version": 1,
    }


def _index_rows(n: int, day: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Band keys as a distinct article's would be: uniform 32-bit values."""
    rng = random.Random(-n)
    bands = [
        {"band": b, "key": rng.getrandbits(31), "article_id": n} for b in range(fingerprint.BANDS)
    ]
    anchors = [
        {"band": b, "key": rng.getrandbits(31), "day": day, "article_id": n}
        for b in range(fingerprint.ANCHOR_BANDS)
    ]
    return bands, anchors


def grow(archive: Any, start: int, stop: int, source_ids: list[int]) -> float:
    """Articles ``start``..``stop - 1`` with their index rows; returns seconds."""
    t0 = time.perf_counter()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for lo in range(start, stop, CHUNK):
        rows = [_row(n, source_ids) for n in range(lo, min(stop, lo + CHUNK))]
        bands: list[dict[str, Any]] = []
        anchors: list[dict[str, Any]] = []
        for r in rows:
            b, a = _index_rows(r["id"], (r["published"] - epoch).days)
            bands += b
            anchors += a
        with archive.session() as session:
            session.execute(insert(ArticleRow), rows)
            conn = session.connection()
            conn.execute(
                ArticleSignature.__table__.insert(),
                [{"article_id": r["id"], "minhash": b"\0" * 512} for r in rows],
            )
            conn.execute(LshBand.__table__.insert(), bands)
            conn.execute(AnchorBand.__table__.insert(), anchors)
            copies = [
                {"article_id": r["id"], "original_id": r["id"] - 7, "kind": "near", "score": 0.8}
                for r in rows
                if r["id"] % 10 == 0 and r["id"] > 7
            ]
            if copies:
                conn.execute(Duplicate.__table__.insert(), copies)
        if (lo // CHUNK) % 20 == 0:
            logger.info("%d articles", lo + len(rows) - 1)
    if archive.backend == "postgresql":
        with archive.engine.begin() as conn:
            # ids were given explicitly: the sequence must move past them for later inserts
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('articles', 'id'), max(id)) FROM articles"
                )
            )
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def near_dup_check(archive: Any, stored: int) -> tuple[float, float]:
    """(mean, p95) ms of ``save_page`` for fresh articles, each rolled back."""
    from newsarchive.archive.store import save_page

    times = []
    for i in range(CHECKS):
        n = 50_000_000 + stored + i
        body = body_of(n)
        if i % 10 == 0:  # a reworked copy of a stored article
            body = "Republished from our partner.\n" + body_of(1 + (i * 7919) % stored)
        url = f"https://fresh.example/{stored}/{i}"
        article = Article(url, url, f"Fresh {i}", body, published=START + timedelta(days=i % DAYS))
        article.lang = "en"
        page = FetchedPage(
            url, url, 200, body.encode(), datetime.now(UTC), "src00", article=article
        )
        fp = fingerprint.fingerprint(body)
        with archive.engine.connect() as conn:
            from sqlalchemy.orm import Session

            trans = conn.begin()
            session = Session(bind=conn)
            started = time.perf_counter()
            save_page(session, page, fp=fp)
            times.append((time.perf_counter() - started) * 1000)
            session.close()
            trans.rollback()
    return statistics.fmean(times), statistics.quantiles(times, n=20)[-1]


def search_times(archive: Any) -> dict[str, tuple[float, float, int]]:
    from newsarchive.archive.search import SearchFilters, search

    results = {}
    with archive.session() as session:
        for shape, queries in SHAPES.items():
            filters = SearchFilters()
            if shape == "word+source+date":
                filters = SearchFilters(
                    source="src07",
                    since=datetime(2023, 1, 1, tzinfo=UTC),
                    until=datetime(2023, 6, 30, tzinfo=UTC),
                )
            search(session, queries[0], filters, limit=20)  # warm the cache
            times = []
            hits = 0
            for i in range(REPEATS):
                started = time.perf_counter()
                hits += len(search(session, queries[i % len(queries)], filters, limit=20))
                times.append((time.perf_counter() - started) * 1000)
            results[shape] = (statistics.median(times), _p95(times), hits // REPEATS)
    return results


def stats_time(archive: Any) -> float:
    from newsarchive.archive.reports import stats

    times = []
    with archive.session() as session:
        for _ in range(5):
            started = time.perf_counter()
            stats(session, days=30)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def export_child(url: str, out: Path) -> dict[str, Any]:
    from newsarchive.archive.export import export_to_file
    from newsarchive.archive.search import SearchFilters

    started = time.perf_counter()
    with open_archive(url, create=False) as archive, archive.session() as s:
        rows = export_to_file(s, "parquet", out, SearchFilters(), force=True).rows
    return {
        "rows": rows,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def export_time(url: str, workdir: Path) -> dict[str, Any]:
    out = workdir / "all.parquet"
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(out), "--db", url],  # bench/ on the path
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["mb"] = out.stat().st_size / 1e6
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--db", help="SQLite file (default: a fresh one) or a postgresql:// URL "
                        "of a database this script may drop and recreate")  # fmt: skip
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(export_child(args.db, args.child)))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        workdir = Path(tmp)
        url = fresh_archive(args.db, workdir, "bench-archive.db")
        archive = open_archive(url)
        backend = archive.backend
        with archive.session() as s:
            s.execute(
                insert(Source),
                [{"name": f"src{i:02d}", "language": LANGS[i % 8]} for i in range(SOURCES)],
            )
            source_ids = [r[0] for r in s.execute(text("SELECT id FROM sources ORDER BY id"))]
        lines = [f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, 2 cores, {backend}"]
        stored = 0
        near: dict[int, tuple[float, float]] = {}
        sizes = [c for c in CHECKPOINTS if c < args.articles] + [args.articles]
        for size in sizes:
            seconds = grow(archive, stored + 1, size + 1, source_ids)
            lines.append(f"built {size:>9,} articles (+{size - stored:,} in {seconds:.0f} s)")
            stored = size
            near[size] = near_dup_check(archive, stored)
            lines.append(
                f"  near-dup check: save_page mean {near[size][0]:.2f} ms, "
                f"p95 {near[size][1]:.2f} ms ({CHECKS} fresh articles)"
            )
        first = sizes[0]
        lines.append(f"near-dup ratio {stored:,}/{first:,}: {near[stored][0] / near[first][0]:.2f}")
        for shape, (p50, p95, hits) in search_times(archive).items():
            lines.append(f"search {shape:<17} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  ({hits} hits)")
        lines.append(f"stats            {stats_time(archive) * 1000:7.0f} ms (median of 5)")
        archive.dispose()
        exp = export_time(url, workdir)
        lines.append(
            f"parquet export   {exp['seconds']:7.1f} s  {exp['rows']:,} rows  {exp['mb']:.0f} MB"
            f"  peak RSS {exp['peak_rss_mb']:.0f} MB"
        )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
