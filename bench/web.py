"""Latency of the web app under concurrent clients: the search page and /api/search.

    python bench/web.py                                   # 100,000 articles, SQLite, 8 clients
    python bench/web.py --articles 20000 --requests 100
    python bench/web.py --db postgresql://postgres@127.0.0.1:5432/bench   # an empty database
    python bench/web.py --db /tmp/web-bench.db --reuse    # skip seeding an archive made before
    python bench/web.py --db /tmp/web-bench.db --reuse --baseline /tmp/base  # same run, 2 builds
    python bench/web.py --db /tmp/web-bench.db --reuse --baseline . --baseline-option=--workers=1

The archive is seeded with synthetic articles (bulk inserts through the ORM tables; the FTS5
triggers or the tsvector column index them as a crawl would): 40 sources, 4 languages, three
years of dates, one to three companies each, one article in twenty a copy of an earlier one.
``newsarchive serve`` then runs in its own process (read-only, as a user would start it, with
its answer cache and defaults) and ``--clients`` threads send searches of fixed shapes — common
and rare words, phrases, OR, prefixes, exclusions, filters, date order, browsing without a
query — each to the HTML search page (results, facets with counts and the timeline) or to
/api/search (results and the total).

Every measured request of a "new searches" phase is a search the server has not seen before:
each shape's words, filters and dates are drawn afresh and no URL is sent twice (nothing is
sent before the timing starts), so the answer cache never answers and every request computes
its results, counts and timeline — the cost of a new search. The "repeated searches" phase then
sends the same URLs again (paging back, a shared link: the cache answers). Beside the
latencies, the server's CPU time per request (all its processes): on a shared machine the
latency says how long a user waited, the CPU time what the server spent. Before each server
starts, the archive file is read once, so every run starts with it in the OS cache.

``--baseline DIR`` runs the same phases, with the same URLs, first against the server of another
checkout (its ``newsarchive`` package on ``PYTHONPATH``, e.g. ``git worktree add /tmp/base
main~3``; ``--baseline-db``: a copy of the archive at that checkout's schema,
``--baseline-option``: its serve options) and prints both side by side with the ratio. Every
answer should be HTTP 200 (others, such as 503 past the time limit, are counted).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import logging
import os
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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import psutil
from scratch import checkout_commit
from sqlalchemy import func, insert, select

from newsarchive.archive import open_archive
from newsarchive.archive.models import Article, ArticleCompany, Duplicate, Source

if TYPE_CHECKING:
    from collections.abc import Callable

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
SOURCES = [f"source-{i:02d}" for i in range(40)]
PAIRS = list(itertools.pairwise(TOPICS))
MONTHS = [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in range(1, 13)]


def _word(rng: random.Random) -> str:
    return str(rng.choice(TOPICS))


def _two(rng: random.Random) -> str:
    return " ".join(rng.sample(TOPICS, 2))


def _window(rng: random.Random) -> dict[str, str]:
    first = rng.randrange(len(MONTHS) - 1)
    last = rng.randrange(first, min(len(MONTHS), first + 7))
    return {"since": MONTHS[first] + "-01", "until": MONTHS[last] + "-28"}


def _browse(rng: random.Random) -> dict[str, str]:
    choice = rng.randrange(4)
    if choice == 0:
        return {"source": rng.choice(SOURCES)}
    if choice == 1:
        return {"lang": rng.choice(LANGS)[0], **_window(rng)}
    if choice == 2:
        return _window(rng)
    return {"source": rng.choice(SOURCES), "lang": rng.choice(LANGS)[0]}


# The shapes of the mix, in the order they are sent; each draws new words, filters and dates.
SHAPES: list[tuple[str, Callable[[random.Random], dict[str, str]]]] = [
    ("browse: no query, a filter", _browse),
    ("common word", lambda r: {"q": _word(r)}),
    ("two words", lambda r: {"q": _two(r)}),
    ("phrase", lambda r: {"q": '"{} {}"'.format(*r.choice(PAIRS))}),
    (
        "OR of companies",
        lambda r: {"q": " OR ".join(c.lower() for c in r.sample(COMPANIES[:18], 2))},
    ),
    ("prefix", lambda r: {"q": _word(r)[: r.randint(3, 5)] + "*"}),
    ("exclusion", lambda r: {"q": "{} -{}".format(*r.sample(TOPICS, 2))}),
    ("two words, language", lambda r: {"q": _two(r), "lang": r.choice(LANGS)[0]}),
    ("word, source", lambda r: {"q": _word(r), "source": r.choice(SOURCES)}),
    ("word, company", lambda r: {"q": _word(r), "company": r.choice(COMPANIES)}),
    ("word, date range", lambda r: {"q": _word(r), **_window(r)}),
    ("two words, by date", lambda r: {"q": _two(r), "sort": "date"}),
    ("company, no query", lambda r: {"company": r.choice(COMPANIES), **_window(r)}),
    ("two words, copies", lambda r: {"q": _two(r), "copies": "1"}),
]


def new_searches(count: int, seen: set[str], rng: random.Random) -> list[str]:
    """``count`` query strings never produced before (``seen`` is updated), shape after shape;
    the very first is the front page itself."""
    found: list[str] = []
    if "" not in seen:
        seen.add("")
        found.append("")
    shape = 0
    while len(found) < count:
        for _ in range(200):
            encoded = urlencode(SHAPES[shape % len(SHAPES)][1](rng))
            if encoded not in seen:
                seen.add(encoded)
                found.append(encoded)
                break
        shape += 1
    return found


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


def start_server(
    db: str, options: list[str], pythonpath: str | None
) -> tuple[subprocess.Popen[str], str]:
    if Path(db).is_file():
        _read_through(Path(db))
    exe = str(Path(sys.executable).with_name("newsarchive"))
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.Popen(
        [exe, "serve", "--db", db, "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    match = re.match(r"serving (\S+) ", proc.stdout.readline())
    if match is None:
        proc.kill()
        raise SystemExit("newsarchive serve did not start")
    base = match.group(1).rstrip("/")
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/api/openapi.json", timeout=5):
                return proc, base
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)


def _read_through(path: Path) -> None:
    """Read the archive file once, so each server starts with it in the OS cache."""
    with path.open("rb") as f:
        while f.read(1 << 24):
            pass


def timed_get(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        status = err.code
    return time.perf_counter() - started, status


def measure(urls: list[str], clients: int) -> tuple[list[float], int]:
    """GET each URL once, ``clients`` at a time; the times and the number not HTTP 200."""
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
        list(pool.map(one, urls))
    return times, failed


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


ENDPOINTS = (("search page", "/"), ("/api/search", "/api/search"))


def plan(clients: int, requests: int) -> list[tuple[str, int, dict[str, list[str]]]]:
    """The phases, each with its clients and its query strings per endpoint: new searches
    with one client, new searches with ``clients``, then the latter repeated."""
    rng = random.Random(20261201)
    seen: set[str] = set()
    one = {label: new_searches(2 * len(SHAPES), seen, rng) for label, _ in ENDPOINTS}
    many = {label: new_searches(requests, seen, rng) for label, _ in ENDPOINTS}
    repeated = {label: rng.sample(qs, len(qs)) for label, qs in many.items()}
    return [
        ("new searches, 1 client", 1, one),
        (f"new searches, {clients} clients", clients, many),
        (f"repeated searches, {clients} clients", clients, repeated),
    ]


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server and its worker processes."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


Result = tuple[list[float], int, float]  # times, not HTTP 200, server CPU seconds per request


def run(db: str, options: list[str], pythonpath: str | None, phases: Any) -> dict[str, Result]:
    """Each endpoint's phases in turn (so its repeated searches are still in the answer
    cache, which keeps 256 answers per process)."""
    results: dict[str, Result] = {}
    proc, base = start_server(db, options, pythonpath)
    try:
        for label, path in ENDPOINTS:
            for phase, clients, queries in phases:
                urls = [f"{base}{path}?{q}" if q else base + path for q in queries[label]]
                cpu = server_cpu(proc.pid)
                times, failed = measure(urls, clients)
                per_request = (server_cpu(proc.pid) - cpu) / len(urls)
                results[f"{label}, {phase}"] = (times, failed, per_request)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return results


def _row(times: list[float], failed: int, cpu: float) -> str:
    p50, p95 = percentile(times, 50) * 1000, percentile(times, 95) * 1000
    return (
        f"{p50:8.1f} {p95:8.1f} {max(times) * 1000:8.1f} {p50 / 100:6.2f}x {failed:5d} "
        f"{cpu * 1000:6.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="archive URL or SQLite path (default: a temporary file)")
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200, help="per endpoint and phase")
    parser.add_argument("--reuse", action="store_true", help="use the archive at --db as it is")
    parser.add_argument("--workers", type=int, help="serve --workers (default: serve's own)")
    parser.add_argument(
        "--baseline", metavar="DIR", help="also measure the checkout at DIR, first (same URLs)"
    )
    parser.add_argument(
        "--baseline-db", help="the archive the baseline serves (an older schema's copy)"
    )
    parser.add_argument(
        "--baseline-option", action="append", default=[], help="a baseline serve option"
    )
    parser.add_argument(
        "--serve-option", action="append", default=[], help="extra serve option (repeatable)"
    )
    args = parser.parse_args(argv)
    options = [*args.serve_option, *(["--workers", str(args.workers)] if args.workers else [])]
    phases = plan(args.clients, args.requests)
    with tempfile.TemporaryDirectory(prefix="newsarchive-web-bench-") as tmp:
        db = args.db or str(Path(tmp) / "bench.db")
        if not args.reuse:
            seed(db, args.articles)
        stored = count_articles(db)
        load = os.getloadavg()
        baseline = None
        if args.baseline:
            baseline_db = args.baseline_db or db
            baseline = run(baseline_db, args.baseline_option, args.baseline, phases)
        current = run(db, options, None, phases)
        load_after = os.getloadavg()
    here = checkout_commit(Path(__file__).resolve().parent)
    print(
        f"{stored:,} articles, {'PostgreSQL' if '://' in db else 'SQLite'}, "
        f"{len(SHAPES)} query shapes, every URL of a 'new searches' phase sent once; "
        f"load average {load[0]:.1f} before, {load_after[0]:.1f} after; "
        f"finished {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; this checkout {here}"
        + (f", baseline {checkout_commit(args.baseline)}" if args.baseline else "")
    )
    head = f"{'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p50/100':>7} {'!200':>5} {'CPU ms':>6}"
    if baseline is None:
        print(f"{'endpoint, phase':<44} {head}")
        for label, result in current.items():
            print(f"{label:<44} {_row(*result)}")
        return 0
    print(f"{'endpoint, phase':<44} baseline: {head}   this checkout: {head}  ratio")
    for label, result in current.items():
        before = baseline[label]
        ratio = percentile(before[0], 50) / percentile(result[0], 50)
        print(f"{label:<44} {_row(*before)}   {_row(*result)} {ratio:5.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
