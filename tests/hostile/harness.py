"""Harness for the hostile-web suite: fault servers, crawls in subprocesses, archive snapshots.

Every crawl runs the real ``newsarchive crawl`` console script in its own process (a Twisted
reactor starts once per process) against servers on 127.0.0.1, while a poller samples the
resident memory of the whole process tree (the crawl and its extraction workers), so the bomb
tests can bound and report it. Each test crawls into a copy of one archive seeded by a normal
crawl, so "already-stored articles are untouched" is checked against real stored rows.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

import psutil
import pytest
from support.cli import start_cli
from support.newssite import article_html, html, listing_html

from newsarchive.demo.server import LocalWeb, Request, Response, Site

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

Route = Response | Callable[[Request], Response]


@dataclass(slots=True)
class Hit:
    at: float
    site: str
    path: str
    headers: dict[str, str]


class FaultWeb:
    """LocalWeb sites defined by routes (path → Response or function), recording every hit.

    LocalWeb's own log has no times or headers; the fault tests need both (Retry-After pacing,
    credentials leaking across a redirect), so the routes run behind a recording handler.
    """

    def __init__(self, sites: dict[str, dict[str, Route]], host: str = "127.0.0.1") -> None:
        self.routes = sites
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self.web = LocalWeb([Site(name, None, self._handler(name)) for name in sites], host)

    def _handler(self, site: str) -> Callable[[Request], Response]:
        def handle(request: Request) -> Response:
            with self._lock:
                self.hits.append(Hit(time.monotonic(), site, request.path, dict(request.headers)))
            route = self.routes[site].get(request.path)
            if route is None:
                return html("<html><body><h1>Not found</h1></body></html>", 404)
            return route(request) if callable(route) else route

        return handle

    def __enter__(self) -> Self:
        self.web.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.web.stop()

    def url(self, site: str, path: str = "/") -> str:
        return self.web.url(site, path)

    def hits_for(self, site: str, path: str | None = None) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.site == site and (path is None or h.path == path)]


@dataclass(slots=True)
class CrawlResult:
    exit_code: int
    summary: dict[str, Any] | None
    stdout: str
    stderr: str
    log: str
    peak_rss: int  # bytes, summed over the crawl's process tree at the worst sample
    peak_rss_single: int  # bytes, the largest single process
    seconds: float
    db: Path
    stats: dict[str, Any] = field(default_factory=dict)

    def stat(self, key: str) -> int:
        return int(self.stats.get(key, 0) or 0)

    def stats_with(self, prefix: str) -> dict[str, Any]:
        return {k: v for k, v in self.stats.items() if k.startswith(prefix)}


def _tree_rss(proc: psutil.Process) -> tuple[int, int]:
    total = single = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for p in procs:
        try:
            rss = p.memory_info().rss
        except psutil.Error:
            continue
        total += rss
        single = max(single, rss)
    return total, single


def _kill_tree(proc: psutil.Process) -> None:
    try:
        children = proc.children(recursive=True)
    except psutil.Error:
        children = []
    for p in [proc, *children]:
        with contextlib.suppress(psutil.Error):
            p.kill()


def run_crawl(
    urls: list[str],
    db: Path,
    *,
    extra: tuple[str, ...] = (),
    settings: dict[str, Any] | None = None,
    timeout: float = 90.0,
    workdir: Path | None = None,
) -> CrawlResult:
    """One `newsarchive crawl --local --json` in a subprocess, with its memory sampled.

    ``settings`` are Scrapy settings passed as ``-s NAME=VALUE``. The log file and the working
    directory are ``workdir`` (default: the archive's directory).
    """
    workdir = workdir or db.parent
    log_file = workdir / f"crawl-{time.time_ns()}.log"
    args = ["crawl", *urls, "--db", str(db), "--local", "--json", "--log-file", str(log_file)]
    for name, value in (settings or {}).items():
        args += ["-s", f"{name}={value}"]
    args += extra
    started = time.monotonic()
    popen = start_cli(*args, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc = psutil.Process(popen.pid)
    peak = peak_single = 0
    out: dict[str, str] = {}
    reader = threading.Thread(
        target=lambda: out.update(zip(("o", "e"), popen.communicate(), strict=False))
    )
    reader.start()
    while reader.is_alive():
        total, single = _tree_rss(proc)
        peak, peak_single = max(peak, total), max(peak_single, single)
        if time.monotonic() - started > timeout:
            _kill_tree(proc)
            reader.join()
            pytest.fail(f"crawl did not finish within {timeout:.0f} s: {urls}")
        reader.join(0.02)
    seconds = time.monotonic() - started
    stdout = out.get("o", "")
    stderr = out.get("e", "")
    summary = None
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            summary = json.loads(line)
            break
    log = log_file.read_text("utf-8", "replace") if log_file.exists() else ""
    result = CrawlResult(
        popen.returncode, summary, stdout, stderr, log, peak, peak_single, seconds, db
    )
    if summary is not None:
        result.stats = last_run(db).get("stats") or {}
    return result


# -- archive inspection (plain sqlite3: the tests look at what is on disk, not through our API) --
def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def last_run(db: Path) -> dict[str, Any]:
    rows = query(db, "SELECT * FROM crawl_runs ORDER BY id DESC LIMIT 1")
    if not rows:
        return {}
    run = rows[0]
    for key in ("stats", "errors_by_kind", "arguments", "sources"):
        if isinstance(run.get(key), str):
            run[key] = json.loads(run[key])
    return run


ARTICLE_COLUMNS = "id, canonical_url, title, body, content_sha256, version, published, source_id"


def snapshot(db: Path) -> list[dict[str, Any]]:
    return query(db, f"SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY id")


def articles(db: Path) -> list[dict[str, Any]]:
    return query(db, "SELECT * FROM articles ORDER BY id")


def assert_seed_untouched(db: Path, before: list[dict[str, Any]]) -> None:
    after = {r["id"]: r for r in snapshot(db)}
    for row in before:
        assert after.get(row["id"]) == row, f"stored article {row['canonical_url']} changed"


def log_mentions(log: str, url: str, word: str = "") -> bool:
    """Whether one log line names ``url`` together with ``word`` (case-insensitive)."""
    return any(url in line and word.lower() in line.lower() for line in log.splitlines())


MiB = 1024 * 1024


# -- the seeded archive ------------------------------------------------------------------------
SEED_ARTICLES = 3


def seed_routes() -> dict[str, Route]:
    links = [f"/news/2026/11/seed-story-{i}.html" for i in range(SEED_ARTICLES)]
    routes: dict[str, Route] = {"/": html(listing_html(links))}
    for i, link in enumerate(links):
        routes[link] = html(article_html(f"Seed story number {i} about battery plants", 100 + i))
    return routes


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """An archive holding a few articles from a normal crawl, made once per session."""
    db = tmp_path_factory.mktemp("seed") / "seed.db"
    with FaultWeb({"seed": seed_routes()}) as web:
        result = run_crawl([web.url("seed")], db)
    rows = snapshot(db)
    assert result.exit_code == 0, result.stderr + result.log[-3000:]
    assert len(rows) == SEED_ARTICLES, f"seed crawl stored {len(rows)} articles: {result.summary}"
    return db, rows


@dataclass(slots=True)
class Seeded:
    db: Path
    before: list[dict[str, Any]]

    def untouched(self) -> None:
        assert_seed_untouched(self.db, self.before)


def copy_seed(template: Path, rows: list[dict[str, Any]], directory: Path) -> Seeded:
    """A private copy of the seeded archive in ``directory``."""
    db = directory / "archive.db"
    conn = sqlite3.connect(template)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        target = sqlite3.connect(db)
        conn.backup(target)
        target.close()
    finally:
        conn.close()
    return Seeded(db, rows)


@pytest.fixture
def seeded(seeded_template: tuple[Path, list[dict[str, Any]]], tmp_path: Path) -> Seeded:
    return copy_seed(*seeded_template, tmp_path)


@pytest.fixture(scope="module")
def module_seeded(
    seeded_template: tuple[Path, list[dict[str, Any]]], tmp_path_factory: pytest.TempPathFactory
) -> Seeded:
    """A seeded archive shared by the tests of one module, which assert on one shared crawl."""
    return copy_seed(*seeded_template, tmp_path_factory.mktemp("crawl"))


@dataclass(slots=True)
class Crawled:
    """One crawl over several fault sites, shared by the tests of a module."""

    web: FaultWeb
    result: CrawlResult
    seeded: Seeded

    def stored(self, like: str) -> list[dict[str, Any]]:
        return query(self.seeded.db, "SELECT * FROM articles WHERE url LIKE ?", (f"%{like}%",))


@contextlib.contextmanager
def crawl_sites(
    sites: dict[str, dict[str, Route]],
    seeded: Seeded,
    *,
    prepare: Callable[[FaultWeb], object] | None = None,
    extra: tuple[str, ...] = (),
    settings: dict[str, Any] | None = None,
    timeout: float = 90.0,
) -> Iterator[Crawled]:
    """Serve ``sites`` and crawl all their homepages into ``seeded``'s archive, in one run.

    The servers stay up while the context is open, so tests can still read their hits.
    ``prepare`` runs once they listen, for routes that must name their own URL.
    """
    with FaultWeb(sites) as web:
        if prepare is not None:
            prepare(web)
        urls = [web.url(name) for name in sites]
        result = run_crawl(urls, seeded.db, extra=extra, settings=settings, timeout=timeout)
        yield Crawled(web, result, seeded)


@pytest.fixture
def fault_web() -> Iterator[Callable[..., FaultWeb]]:
    """Start FaultWeb instances for a test; all stopped at teardown."""
    started: list[FaultWeb] = []

    def start(sites: dict[str, dict[str, Route]], host: str = "127.0.0.1") -> FaultWeb:
        web = FaultWeb(sites, host)
        web.__enter__()
        started.append(web)
        return web

    yield start
    for web in started:
        web.__exit__()


def good_site(prefix: str, count: int = 2, seed: int = 500) -> dict[str, Route]:
    """Routes of a healthy site crawled next to a fault: its articles prove the crawl went on."""
    links = [f"/news/2026/11/{prefix}-fresh-{i}.html" for i in range(count)]
    routes: dict[str, Route] = {"/": html(listing_html(links))}
    for i, link in enumerate(links):
        routes[link] = html(article_html(f"Fresh {prefix} report {i} on supplier deals", seed + i))
    return routes
