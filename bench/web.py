"""Latency of the web app under concurrent clients: the search page and /api/search.

    python bench/web.py                                   # 100,000 articles, SQLite, 8 clients
    python bench/web.py --articles 20000 --requests 200
    python bench/web.py --db postgresql://postgres@127.0.0.1:5432/bench   # an empty database
    python bench/web.py --db /tmp/web-bench.db --reuse    # skip seeding an archive made before

The archive is seeded with synthetic articles (bulk inserts through the ORM tables; the FTS5
triggers or the tsvector column index them as a crawl would): 40 sources, 4 languages, three
years of dates, one to three companies each, one article in twenty a copy of an earlier one.
``newsarchive serve`` then runs in its own process (read-only, as a user would start it) and
``--clients`` threads send a fixed mix of queries — common and rare words, phrases, OR,
prefixes, filters, the front page without a query — each to the HTML search page (results,
facets with counts and the timeline) and to /api/search (results and the total). Every answer
should be HTTP 200 (others, such as 503 past the time limit, are counted). The mix runs against a server without its answer cache (every request
computed: the cost of a new search), one client and then ``--clients`` at once, and against one
with the cache (repeated searches, as paging, toggles and shared links make them); p50/p95 are
printed side by side, with the ratio to the 100 ms target.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, insert, select

from newsarchive.archive import open_archive
from newsarchive.archive.models import Article, ArticleCompany, Duplicate, Source

logger = logging.getLogger(__name__)

CHUNK = 2000
START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_HOURS = 3 * 365 * 24
COMPANIES = [
    "Toyota", "Volkswagen", "Hyundai", "Ford", "Stellantis", "BMW", "Renault", "Nissan",
    "Honda", "Mercedes-Benz", "Kia", "Volvo", "BYD", "Geely", "Tata", "Mazda", "Tesla",
    "Xiaomi", "Li Auto", "NIO", "Rivian", "Lucid", "Polestar", "Skoda", "CATL", "Bosch",
]  # fmt: skip
TOPICS = re.findall(
    r"\S+",
    "battery plant recall quarterly results software update plant closure joint venture price "
    "cut hydrogen truck solid state cells dealer network emissions probe chip supply robotaxi "
    "pilot tariff exposure union contract charging network platform sharing lidar supplier "
    "export record steel costs",
)
COMMON = re.findall(
    r"\S+",
    "the of and to in a for on with that is by as at from its said will has new are was be "
    "electric vehicles cars market sales production company year percent million billion "
    "models car industry prices demand europe china market share",
)
LANGS = [("en", 0.7), ("de", 0.12), ("fr", 0.1), ("it", 0.08)]
QUERIES: list[dict[str, str]] = [
    {},  # the front page: latest articles, facets over everything
    {"q": "battery"},
    {"q": "solid state"},
    {"q": '"price cut"'},
    {"q": "tesla OR byd"},
    {"q": "hydro*"},
    {"q": "recall -software"},
    {"q": "lidar supplier", "lang": "en"},
    {"q": "charging", "source": "source-07"},
    {"q": "plant", "company": "Renault"},
    {"q": "tariff", "since": "2024-01-01", "until": "2024-06-30"},
    {"q": "union contract", "sort": "date"},
    {"company": "Xiaomi"},
    {"q": "emissions probe", "copies": "1"},
]


def _text(rng: random.Random, company: str, words: int) -> str:
    topic = rng.sample(TOPICS, 3)
    chosen = [*topic, company, *rng.choices(COMMON, k=words)]
    rng.shuffle(chosen)
    sentences = [" ".join(chosen[i : i + 14]).capitalize() + "." for i in range(0, words, 14)]
    return "\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))


def seed(db: str, articles: int) -> None:
    """Bulk-insert ``articles`` synthetic articles (ids from 1) with companies and copies."""
    rng = random.Random(20240426)
    started = time.perf_counter()
    with open_archive(db) as archive:
        with archive.session() as s:
            s.execute(
                insert(Source),
                [
                    {"name": f"source-{i:02d}", "homepage": f"https://s{i}.example/"}
                    for i in range(40)
                ],
            )
        next_id = 1
        while next_id <= articles:
            rows, companies, copies = [], [], []
            for article_id in range(next_id, min(articles, next_id + CHUNK - 1) + 1):
                named = rng.sample(COMPANIES, rng.randint(1, 3))
                body = _text(rng, named[0], rng.randint(120, 260))
                lang = rng.choices([code for code, _ in LANGS], [w for _, w in LANGS])[0]
                when = START + timedelta(hours=rng.randrange(SPAN_HOURS))
                url = f"https://s{article_id % 40}.example/news/{article_id}"
                rows.append(
                    {
                        "id": article_id,
                        "source_id": rng.randint(1, 40),
                        "url": url,
                        "canonical_url": url,
                        "title": f"{named[0]} {' '.join(rng.sample(TOPICS, 2))}: story {article_id}",
                        "body": body,
                        "published": when,
                        "lang": lang,
                        "companies": named,
                        "authors": ["Bench Writer"],
                        "word_count": len(body.split()),
                        "content_sha256": hashlib.sha256(body.encode()).hexdigest(),
                        "first_seen": when,
                        "last_seen": when,
                    }
                )
                companies += [{"article_id": article_id, "company": c} for c in named]
                if article_id > 100 and rng.random() < 0.05:
                    copies.append(
                        {
                            "article_id": article_id,
                            "original_id": rng.randint(1, article_id - 1),
                            "kind": "near",
                            "score": 0.8,
                        }
                    )
            with archive.session() as s:
                s.execute(insert(Article), rows)
                s.execute(insert(ArticleCompany), companies)
                if copies:
                    s.execute(insert(Duplicate), copies)
            next_id += len(rows)
            print(f"\rseeded {next_id - 1:,} articles", end="", file=sys.stderr, flush=True)
        if archive.backend == "postgresql":
            with archive.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
    print(
        f"\rseeded {articles:,} articles in {time.perf_counter() - started:.0f} s", file=sys.stderr
    )


def count_articles(db: str) -> int:
    with open_archive(db, create=False) as archive, archive.session() as s:
        return int(s.scalar(select(func.count()).select_from(Article)) or 0)


def start_server(db: str, cache_size: int) -> tuple[subprocess.Popen[str], str]:
    exe = str(Path(sys.executable).with_name("newsarchive"))
    proc = subprocess.Popen(
        [exe, "serve", "--db", db, "--port", "0", "--cache-size", str(cache_size)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    match = re.match(r"serving (\S+) ", proc.stdout.readline())
    if match is None:
        proc.kill()
        raise SystemExit("newsarchive serve did not start")
    base = match.group(1).rstrip("/")
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/api/openapi.json", timeout=5):
                return proc, base
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)


def timed_get(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        status = err.code
    return time.perf_counter() - started, status


def measure(base: str, path: str, clients: int, requests: int) -> tuple[list[float], int]:
    """``requests`` GETs of ``path`` with the query mix, ``clients`` at a time (after a warm-up
    round of each query, so that the first-touch cost of the page cache is not counted)."""
    urls = [f"{base}{path}?{urlencode(q)}" for q in QUERIES]
    for url in urls:
        timed_get(url)
    order = [urls[i % len(urls)] for i in range(requests)]
    random.Random(1).shuffle(order)
    lock = threading.Lock()
    times: list[float] = []
    failed = 0

    def one(url: str) -> None:
        nonlocal failed
        elapsed, status = timed_get(url)
        with lock:
            times.append(elapsed)
            failed += status != 200

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, order))
    return times, failed


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="archive URL or SQLite path (default: a temporary file)")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400, help="per endpoint")
    parser.add_argument("--reuse", action="store_true", help="use the archive at --db as it is")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="newsarchive-web-bench-") as tmp:
        db = args.db or str(Path(tmp) / "bench.db")
        if not args.reuse:
            seed(db, args.articles)
        stored = count_articles(db)
        results: dict[str, Any] = {}
        phases = [
            (0, 1, 3 * len(QUERIES), "no cache, 1 client"),
            (0, args.clients, args.requests // 2, f"no cache, {args.clients} clients"),
            (256, args.clients, args.requests, f"cache, {args.clients} clients"),
        ]
        for cache, clients, requests, phase in phases:
            proc, base = start_server(db, cache)
            try:
                for label, path in (("search page", "/"), ("/api/search", "/api/search")):
                    results[f"{label}, {phase}"] = measure(base, path, clients, requests)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    print(
        f"{stored:,} articles, {len(QUERIES)} queries, "
        f"{'PostgreSQL' if '://' in db else 'SQLite'}; 'cache' runs {args.requests} requests, "
        f"'no cache' {args.requests // 2} with {args.clients} clients"
    )
    print(
        f"{'endpoint, server, clients':<40} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p50/target':>11} "
        f"{'not 200':>8}"
    )
    for label, (times, failed) in results.items():
        p50, p95 = percentile(times, 50) * 1000, percentile(times, 95) * 1000
        print(
            f"{label:<40} {p50:8.1f} {p95:8.1f} {max(times) * 1000:8.1f} {p50 / 100:10.2f}x "
            f"{failed:8d}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
