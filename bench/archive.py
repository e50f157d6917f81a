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
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scratch import checkout_commit, fresh_archive
from sqlalchemy import insert, text

from newsarchive.archive import open_archive
from newsarchive.archive.models import Source
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
    # not one of issue 18's five: words of the vocabulary's body (in ~14 %, ~4.6 % and ~1.4 % of
    # the articles) under a filter that passes one in eight, where the filtered ranking must
    # walk FTS5's matches rather than the passing articles (docs/benchmarks.md)
    "rarer word+lang": [],
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
SHAPES["rarer word+lang"] = [WORDS[300], WORDS[1000], WORDS[3000]]


def _sentences(count: int = 60_000) -> list[str]:
    """Sentences of 18 words drawn from the Zipf vocabulary; bodies are made of them, so that
    building a million bodies costs a choice of sentences, not 450 weighted draws each (word
    frequencies stay those of the vocabulary)."""
    rng = random.Random(13)
    return [
        " ".join(rng.choices(WORDS, cum_weights=CUM, k=SENTENCE_WORDS)).capitalize() + "."
        for _ in range(count)
    ]


SENTENCE_WORDS = 18
SENTENCES = _sentences()


def body_of(n: int) -> str:
    rng = random.Random(n)
    length = min(2500, max(80, int(rng.lognormvariate(math.log(450), 0.55))))
    sentences = rng.choices(SENTENCES, k=max(1, round(length / SENTENCE_WORDS)))
    return "\n".join(" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5))


def original_of(n: int) -> int | None:
    """One article in ten is a copy of the article stored seven before it (same body)."""
    return n - 7 if n % 10 == 0 and n > 7 else None


ARTICLE_COLUMNS = [
    *("id", "source_id", "url", "canonical_url", "title", "body", "published", "word_count"),
    *("content_sha256", "first_seen", "last_seen", "date_flags", "authors", "organisations"),
    *("tags", "companies", "lang", "version"),
]


def _row(n: int, source_ids: list[int]) -> tuple[Any, ...]:
    """Article ``n`` as a row of ARTICLE_COLUMNS (lists as JSON text, times aware UTC)."""
    original = original_of(n)
    body = body_of(n if original is None else original)
    if original is not None:
        body = f"Republished from src{original % SOURCES:02d}.\n" + body
    when = START + timedelta(minutes=(n * 2_629) % (DAYS * 24 * 60))
    src = n % SOURCES
    url = f"https://src{src:02d}.example/news/{when:%Y/%m}/story-{n}"
    title = f"{WORDS[n % 40].capitalize()} {WORDS[(n // 40) % 40]} story {n}"
    words = body.count(" ") + body.count("\n") + 1
    authors = json.dumps([f"Author {n % 1500}"])
    return (n, source_ids[src], url, url, title, body, when, words, f"{n:064x}", when, when,
            "[]", authors, "[]", "[]", "[]", LANGS[src % len(LANGS)], 1)  # fmt: skip


def _index_rows(n: int, day: int) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Band keys as a distinct article's would be: uniform 31-bit values."""
    bits = random.Random(-n).getrandbits
    bands = [(b, bits(31), n) for b in range(fingerprint.BANDS)]
    anchors = [(b, bits(31), day, n) for b in range(fingerprint.ANCHOR_BANDS)]
    return bands, anchors


def _sqlite_value(v: Any) -> Any:
    """SQLite keeps times as naive UTC text (the archive's TZDateTime)."""
    return v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v


BAND_TABLES = {
    "lsh_bands": ("band, key, article_id", "pk_lsh_bands", "ix_lsh_bands_article_id"),
    "anchor_bands": ("band, key, day, article_id", "pk_anchor_bands", "ix_anchor_bands_article_id"),
}


class Loader:
    """Bulk rows through the driver: ``executemany`` on SQLite, ``COPY`` on PostgreSQL.

    What an insert would maintain row by row is set aside for the load and rebuilt in bulk
    afterwards (:meth:`finish`): the FTS5 insert trigger (the new rows are indexed by one
    ``INSERT … SELECT`` into ``articles_fts``), the GIN index of ``search_vector`` (the
    generated tsvector itself is computed as rows arrive), and the near-duplicate index:
    band rows are staged in a plain table and inserted in key order, the ``article_id``
    indexes are recreated afterwards (SQLite), or the primary keys and indexes are dropped
    and recreated (PostgreSQL). The schema after :meth:`finish` is the migrations' own.
    """

    def __init__(self, archive: Any) -> None:
        self.backend = archive.backend
        self.raw = archive.engine.raw_connection()
        self.ddl: dict[str, str] = {}
        self.first = 0
        self.last = 0

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        cur = self.raw.cursor()
        cur.execute(statement, params)
        cur.close()

    def start(self, first: int) -> None:
        self.first = first
        if self.backend == "sqlite":
            self.raw.commit()
            self.sql("PRAGMA foreign_keys=OFF")
            self.sql("PRAGMA synchronous=OFF")
            self.sql("PRAGMA cache_size=-500000")
            self.sql("PRAGMA temp_store=FILE")
            cur = self.raw.cursor()
            cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE name = 'articles_fts_ai' "
                "OR name IN ('ix_lsh_bands_article_id', 'ix_anchor_bands_article_id')"
            )
            self.ddl = dict(cur.fetchall())
            cur.close()
            for name in self.ddl:
                kind = "TRIGGER" if name == "articles_fts_ai" else "INDEX"
                self.sql(f"DROP {kind} {name}")
            for table, (columns, _, _) in BAND_TABLES.items():
                self.sql(f"CREATE TEMP TABLE stage_{table} ({columns})")
        else:
            self.sql("SET session_replication_role = replica")  # no FK triggers per row
            self.sql("SET synchronous_commit = off")
            self.sql("SET maintenance_work_mem = '1GB'")
            self.sql("DROP INDEX ix_articles_search_vector")
            for table, (_, pk, ix) in BAND_TABLES.items():
                self.sql(f"ALTER TABLE {table} DROP CONSTRAINT {pk}")
                self.sql(f"DROP INDEX {ix}")
        self.raw.commit()

    def load(self, table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.backend == "sqlite" and table in BAND_TABLES:
            table = f"stage_{table}"
        cur = self.raw.cursor()
        if self.backend == "sqlite":
            marks = ", ".join("?" for _ in columns)
            cur.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [tuple(_sqlite_value(v) for v in r) for r in rows],
            )
        else:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        cur.close()

    def commit(self, last: int) -> None:
        self.last = last
        self.raw.commit()

    def finish(self) -> None:
        if self.backend == "sqlite":
            self.sql(
                "INSERT INTO articles_fts(rowid, title, body) "
                "SELECT id, title, body FROM articles WHERE id BETWEEN ? AND ?",
                (self.first, self.last),
            )
            for table, (columns, _, _) in BAND_TABLES.items():
                self.sql(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM stage_{table} "
                    f"ORDER BY {columns}"
                )
                self.sql(f"DROP TABLE stage_{table}")
            for statement in self.ddl.values():
                self.sql(statement)
            self.raw.commit()
            self.sql("PRAGMA foreign_keys=ON")
            self.sql("PRAGMA synchronous=NORMAL")
            self.sql("ANALYZE")
        else:
            self.sql("CREATE INDEX ix_articles_search_vector ON articles USING gin (search_vector)")
            for table, (columns, pk, ix) in BAND_TABLES.items():
                self.sql(f"ALTER TABLE {table} ADD CONSTRAINT {pk} PRIMARY KEY ({columns})")
                self.sql(f"CREATE INDEX {ix} ON {table} (article_id)")
            # ids were given explicitly: the sequence must move past them for later inserts
            self.sql(
                "SELECT setval(pg_get_serial_sequence('articles', 'id'), max(id)) FROM articles"
            )
            self.sql("SET session_replication_role = DEFAULT")
            self.raw.commit()
            driver = self.raw.driver_connection
            driver.autocommit = True
            self.sql("VACUUM ANALYZE")
            driver.autocommit = False
        self.raw.commit()
        self.raw.close()


def grow(archive: Any, start: int, stop: int, source_ids: list[int]) -> float:
    """Articles ``start``..``stop - 1`` with their index rows; returns seconds."""
    t0 = time.perf_counter()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    loader = Loader(archive)
    loader.start(start)
    now = datetime.now(UTC)
    for lo in range(start, stop, CHUNK):
        rows = [_row(n, source_ids) for n in range(lo, min(stop, lo + CHUNK))]
        bands: list[tuple[int, ...]] = []
        anchors: list[tuple[int, ...]] = []
        for r in rows:
            b, a = _index_rows(r[0], (r[6] - epoch).days)
            bands += b
            anchors += a
        loader.load("articles", ARTICLE_COLUMNS, rows)
        loader.load(
            "article_signatures",
            ["article_id", "minhash"],
            [(r[0], b"\0" * 512) for r in rows],
        )
        loader.load("lsh_bands", ["band", "key", "article_id"], bands)
        loader.load("anchor_bands", ["band", "key", "day", "article_id"], anchors)
        loader.load(
            "duplicates",
            ["article_id", "original_id", "kind", "score", "created_at", "rule"],
            [
                (r[0], original, "near", 0.8, now, "published")
                for r in rows
                if (original := original_of(r[0])) is not None
            ],
        )
        loader.commit(rows[-1][0])
        if (lo // CHUNK) % 20 == 0:
            logger.info("%d articles", rows[-1][0])
    logger.info("rows loaded in %.0f s; indexing", time.perf_counter() - t0)
    loader.finish()
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


def search_times(archive: Any, repeats: int = REPEATS) -> dict[str, tuple[float, ...]]:
    """Per shape: p50 and p95 wall ms, p50 CPU ms of this process, hits per search.

    The CPU time is this process's alone (on SQLite all of the search; on PostgreSQL the
    client's share): on a loaded machine it shows what a search costs when wall times mostly
    show the wait for a core.
    """
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
            elif shape == "rarer word+lang":
                filters = SearchFilters(lang="en")
            search(session, queries[0], filters, limit=20)  # warm the cache
            times, cpu = [], []
            hits = 0
            for i in range(repeats):
                started, started_cpu = time.perf_counter(), time.process_time()
                hits += len(search(session, queries[i % len(queries)], filters, limit=20))
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            results[shape] = (
                statistics.median(times),
                _p95(times),
                statistics.median(cpu),
                hits / repeats,
            )
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
    parser.add_argument("--keep", action="store_true",
                        help="build the archive at --db and keep it (for --reuse)")  # fmt: skip
    parser.add_argument("--reuse", action="store_true",
                        help="measure search, stats and export on the archive a --keep run "
                        "left at --db (no build, no near-duplicate check)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed runs per shape")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--near-dup-baseline", metavar="DB",
                        help="with --reuse: time the near-duplicate check on this smaller kept "
                        "archive and on --db alternately, in rounds, and print their ratio "
                        "(each check is rolled back: neither archive changes)")  # fmt: skip
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(export_child(args.db, args.child)))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        workdir = Path(tmp)
        if args.reuse:
            url = args.db
            archive = open_archive(url, create=False)
        else:
            url = fresh_archive(args.db, Path.cwd() if args.keep else workdir, "bench-archive.db")
            if args.keep and "://" not in url:
                Path(url).unlink(missing_ok=True)
            archive = open_archive(url)
        backend = archive.backend
        lines = [
            f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {backend}, "
            f"code at {checkout_commit(Path(__file__).parent)}"
            + (f", SQLite {sqlite3.sqlite_version}" if backend == "sqlite" else "")
        ]
        if not args.reuse:
            lines += build_and_check(archive, args.articles)
        lines.append(f"archive: {_stored(archive):,} articles; load average {_load()}")
        for shape, (p50, p95, cpu, hits) in search_times(archive, args.repeats).items():
            lines.append(
                f"search {shape:<17} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
                f"cpu p50 {cpu:6.1f} ms  ({hits:.0f} hits)"
            )
        lines.append(f"stats            {stats_time(archive) * 1000:7.0f} ms (median of 5)")
        if args.reuse and args.near_dup_baseline:
            baseline = open_archive(args.near_dup_baseline, create=False)
            try:
                lines += near_dup_side_by_side(archive, baseline)
            finally:
                baseline.dispose()
        archive.dispose()
        if not args.skip_export:
            exp = export_time(url, workdir)
            lines.append(
                f"parquet export   {exp['seconds']:7.1f} s  {exp['rows']:,} rows  "
                f"{exp['mb']:.0f} MB  peak RSS {exp['peak_rss_mb']:.0f} MB"
            )
        lines.append(f"load average at the end {_load()}")
    print("\n".join(lines))
    return 0


def near_dup_side_by_side(archive: Any, baseline: Any, rounds: int = 4) -> list[str]:
    """The near-duplicate check on two kept archives, alternating (small, big, big, small, …)
    so that both see the same machine: the ratio of their medians is the figure, not either
    archive's own time."""
    both = (baseline, archive)
    stored = [_stored(which) for which in both]
    means: tuple[list[float], list[float]] = ([], [])
    for r in range(rounds):
        for k in (0, 1) if r % 2 == 0 else (1, 0):
            means[k].append(near_dup_check(both[k], stored[k])[0])
    small, big = (statistics.median(m) for m in means)
    line = (
        f"near-dup check, {rounds} alternating rounds of {CHECKS}: "
        f"{stored[0]:,} articles {small:.2f} ms, "
        f"{stored[1]:,} articles {big:.2f} ms (medians of the rounds' means); "
        f"ratio {big / small:.2f}"
    )
    return [line]


def _stored(archive: Any) -> int:
    with archive.session() as s:
        return int(s.scalar(text("SELECT count(*) FROM articles")))


def _load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def build_and_check(archive: Any, articles: int) -> list[str]:
    """Grow the archive through the checkpoints, timing the near-duplicate check at each."""
    with archive.session() as s:
        s.execute(
            insert(Source),
            [{"name": f"src{i:02d}", "language": LANGS[i % 8]} for i in range(SOURCES)],
        )
        source_ids = [r[0] for r in s.execute(text("SELECT id FROM sources ORDER BY id"))]
    lines = []
    stored = 0
    near: dict[int, tuple[float, float]] = {}
    sizes = [c for c in CHECKPOINTS if c < articles] + [articles]
    for size in sizes:
        seconds = grow(archive, stored + 1, size + 1, source_ids)
        lines.append(
            f"built {size:>9,} articles (+{size - stored:,} in {seconds:.0f} s, "
            f"load average {_load()})"
        )
        stored = size
        near[size] = near_dup_check(archive, stored)
        lines.append(
            f"  near-dup check: save_page mean {near[size][0]:.2f} ms, "
            f"p95 {near[size][1]:.2f} ms ({CHECKS} fresh articles)"
        )
    first = sizes[0]
    lines.append(f"near-dup ratio {stored:,}/{first:,}: {near[stored][0] / near[first][0]:.2f}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
