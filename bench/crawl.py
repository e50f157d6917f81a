"""End-to-end crawl throughput and memory against bare trafilatura, measured in one run.

    python bench/crawl.py --corpus ../shared/corpus                 # N=2000, SQLite
    python bench/crawl.py --pages 20000 --db postgresql://postgres@127.0.0.1:5432/bench
    python bench/crawl.py --profile crawl.raw                       # py-spy the crawl tree

The pages of the corpus are served on loopback under distinct article URLs (repeated to reach
``--pages``), spread over several sites that differ in how their articles are found: a sitemap
index named by robots.txt, an RSS feed, paginated section listings. Each page's canonical link
is rewritten to the URL it is served at, as a real site's would be. The real CLI then crawls
the sites (``newsarchive crawl --local``) into a fresh archive, and this script samples the
crawl's process tree for memory and CPU.

Printed side by side, from the same run (the machine may be shared, so only ratios within one
run mean anything):

- end-to-end articles per second (article pages stored, copies included, over the wall time
  of the whole CLI command, start-up included);
- bare trafilatura pages per CPU-second on the same distinct pages
  (``bare_extraction(html, url=url, with_metadata=True)``, this process, ``time.process_time``);
- their ratio, peak RSS of the largest process and of the whole tree (sampled), and CPU
  seconds per process;
- articles per CPU-second of the whole crawl tree against bare trafilatura's pages per
  CPU-second: the same comparison without the wall clock, so other load on a shared machine
  does not move it (on an idle machine with N cores the wall-clock ratio approaches N times
  this one when the crawl keeps every core busy).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from scratch import fresh_archive

from newsarchive.demo.server import LocalWeb, Request, Response, Site
from newsarchive.settings import DEPTH_LIMIT

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
HTML = "text/html; charset=utf-8"
SECTIONS = ("industry", "electric", "suppliers")
PER_LISTING = 50  # articles per section page
PER_SITEMAP = 1000  # URLs per child sitemap
FEED_ITEMS = 50
START = datetime(2021, 1, 1, 6, 0, tzinfo=UTC)
CANONICAL = re.compile(rb"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>", re.IGNORECASE)
# How each site exposes its articles: the spider's three discovery paths, alone and together.
SITE_KINDS = ("sitemap", "feed+sections", "sitemap+feed", "sections")


@dataclass(slots=True)
class CorpusPage:
    name: str
    html: bytes


@dataclass(slots=True)
class Story:
    path: str
    page: CorpusPage
    published: datetime
    section: str


@dataclass(slots=True)
class BenchSite:
    """One loopback news site serving corpus pages under its own article URLs."""

    name: str
    kind: str
    stories: list[Story] = field(default_factory=list)
    web: LocalWeb | None = None
    by_path: dict[str, Story] = field(default_factory=dict)

    @property
    def base(self) -> str:
        assert self.web is not None
        return self.web.base(self.name)

    def serve(self, request: Request) -> Response | None:
        path = request.path
        base = self.base
        if path == "/robots.txt":
            lines = "User-agent: *\nDisallow: /private/\n"
            if "sitemap" in self.kind:
                lines += f"Sitemap: {base}/sitemap_index.xml\n"
            return _text(lines, "text/plain; charset=utf-8")
        if path == "/":
            return _text(self._home(), HTML)
        if path == "/sitemap_index.xml" and "sitemap" in self.kind:
            return _text(self._sitemap_index(), "application/xml")
        if path.startswith("/sitemaps/") and "sitemap" in self.kind:
            number = int(re.sub(r"\D", "", path) or 0)
            return _text(self._sitemap(number), "application/xml")
        if path == "/feed.xml" and "feed" in self.kind:
            return _text(self._feed(), "application/rss+xml")
        if path.startswith("/section/"):
            return self._listing(path)
        story = self.by_path.get(path)
        if story is not None:
            return Response(200, _with_canonical(story.page.html, base + story.path), {
                "Content-Type": HTML,
            })  # fmt: skip
        return None

    def _home(self) -> str:
        sections = " ".join(f'<a href="/section/{s}/">{s.title()}</a>' for s in SECTIONS)
        newest = self.stories[-10:]
        teasers = "".join(f'<li><a href="{s.path}">Story {s.path}</a></li>' for s in newest)
        feed = ""
        if "feed" in self.kind:
            feed = '<link rel="alternate" type="application/rss+xml" href="/feed.xml">'
        return (
            f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{self.name}"
            f"</title>{feed}</head><body><nav>{sections}</nav><ul>{teasers}</ul></body></html>"
        )

    def _sitemap_index(self) -> str:
        count = -(-len(self.stories) // PER_SITEMAP)
        entries = "".join(
            f"<sitemap><loc>{self.base}/sitemaps/{n}.xml</loc></sitemap>" for n in range(count)
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}'
            "</sitemapindex>"
        )

    def _sitemap(self, number: int) -> str:
        chunk = self.stories[number * PER_SITEMAP : (number + 1) * PER_SITEMAP]
        entries = "".join(
            f"<url><loc>{self.base}{s.path}</loc><lastmod>{s.published:%Y-%m-%d}</lastmod></url>"
            for s in chunk
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
        )

    def _feed(self) -> str:
        items = "".join(
            f"<item><title>Story</title><link>{self.base}{s.path}</link>"
            f"<pubDate>{s.published:%a, %d %b %Y %H:%M:%S} GMT</pubDate></item>"
            for s in reversed(self.stories[-FEED_ITEMS:])
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{self.name}</title><link>{self.base}/</link>{items}</channel></rss>"
        )

    def _listing(self, path: str) -> Response | None:
        match = re.fullmatch(r"/section/([a-z]+)/(?:\?page=(\d+))?", path)
        if not match or match.group(1) not in SECTIONS:
            return None
        section, number = match.group(1), int(match.group(2) or 1)
        stories = [s for s in reversed(self.stories) if s.section == section]
        chunk = stories[(number - 1) * PER_LISTING : number * PER_LISTING]
        if not chunk:
            return None
        links = "".join(f'<li><a href="{s.path}">Story</a></li>' for s in chunk)
        more = len(stories) > number * PER_LISTING
        nxt = (
            f'<a rel="next" href="/section/{section}/?page={number + 1}">Older</a>' if more else ""
        )
        html = (
            f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{section}, page "
            f"{number}</title></head><body><h1>{section}</h1><ul>{links}</ul>{nxt}</body></html>"
        )
        return _text(html, HTML)


def _text(text: str, ctype: str) -> Response:
    return Response(200, text.encode("utf-8"), {"Content-Type": ctype})


def _with_canonical(html: bytes, url: str) -> bytes:
    tag = f'<link rel="canonical" href="{url}">'.encode()
    replaced, count = CANONICAL.subn(tag, html, count=1)
    return replaced if count else html


def load_corpus(corpus: Path) -> list[CorpusPage]:
    pages = []
    for path in sorted(corpus.glob("*.html.gz")):
        with gzip.open(path, "rb") as f:
            pages.append(CorpusPage(path.name.removesuffix(".html.gz"), f.read()))
    if not pages:
        raise SystemExit(f"no *.html.gz pages in {corpus}")
    return pages


def build_sites(pages: list[CorpusPage], count: int, sites: int) -> list[BenchSite]:
    """``count`` stories round-robin over the corpus pages and the sites, oldest first."""
    web_sites = [BenchSite(f"site{i}", SITE_KINDS[i % len(SITE_KINDS)]) for i in range(sites)]
    for i in range(count):
        page = pages[i % len(pages)]
        site = web_sites[i % sites]
        published = START + timedelta(hours=i)
        slug = re.sub(r"[^a-z0-9]+", "-", page.name.lower())
        path = f"/news/{published:%Y/%m/%d}/{slug}-{i}.html"
        story = Story(path, page, published, SECTIONS[i % len(SECTIONS)])
        site.stories.append(story)
        site.by_path[path] = story
    return web_sites


# -- measuring --------------------------------------------------------------------------------
@dataclass(slots=True)
class ProcStat:
    label: str
    peak_rss: int = 0
    cpu: float = 0.0


@dataclass(slots=True)
class TreeSampler:
    """Samples a process and its descendants: per-process peak RSS and CPU, tree peak RSS.

    A child whose command line is still the crawl's own is a fork that has not yet exec'd
    (a replacement extraction worker between fork and exec): its pages are the crawl
    process's, shared copy-on-write, so it is left out until it runs its own program, else the
    tree's sum would count the crawl process twice. ``tree_peak_pss`` sums each process's
    proportional share instead (shared pages divided among their sharers): what the tree
    costs the machine, beside the plain sum of RSS that the issue's target names.
    """

    root: psutil.Process
    interval: float = 0.1
    procs: dict[int, ProcStat] = field(default_factory=dict)
    tree_peak: int = 0
    tree_peak_pss: int = 0
    _root_cmdline: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        try:
            members = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        if not self._root_cmdline:
            with contextlib.suppress(psutil.Error):
                self._root_cmdline = self.root.cmdline()
        total = total_pss = 0
        for proc in members:
            try:
                with proc.oneshot():
                    if proc.pid != self.root.pid and proc.cmdline() == self._root_cmdline:
                        continue  # forked, not yet exec'd: the crawl process's own pages
                    memory = proc.memory_full_info()
                    rss = memory.rss
                    times = proc.cpu_times()
                    if proc.pid not in self.procs:
                        self.procs[proc.pid] = ProcStat(_label(proc, self.root))
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            stat = self.procs[proc.pid]
            stat.peak_rss = max(stat.peak_rss, rss)
            stat.cpu = max(stat.cpu, times.user + times.system)
            total += rss
            total_pss += memory.pss
        self.tree_peak = max(self.tree_peak, total)
        self.tree_peak_pss = max(self.tree_peak_pss, total_pss)


def _label(proc: psutil.Process, root: psutil.Process) -> str:
    if proc.pid == root.pid:
        return "crawl (main)"
    cmdline = " ".join(proc.cmdline())
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "multiprocessing" in cmdline or "spawn" in cmdline:
        return "extraction worker"
    return proc.name()


def bare_trafilatura(stories: list[Story], base_of: dict[str, str]) -> tuple[int, float]:
    """Pages and CPU seconds of bare trafilatura over each distinct corpus page once."""
    from trafilatura import bare_extraction

    seen: set[str] = set()
    todo: list[tuple[bytes, str]] = []
    for story in stories:
        if story.page.name in seen:
            continue
        seen.add(story.page.name)
        url = base_of[story.path] + story.path
        todo.append((_with_canonical(story.page.html, url), url))
    bare_extraction(todo[0][0], url=todo[0][1], with_metadata=True)  # imports, lazy tables
    start = time.process_time()
    for html, url in todo:
        bare_extraction(html, url=url, with_metadata=True)
    return len(todo), time.process_time() - start


def listing_depth(sites: list[BenchSite]) -> int:
    """The link depth of the oldest story of a sections-only site: the home page (0), a
    section's pages one after the other (1 … k), then the story (k + 1)."""
    deepest = 0
    for site in sites:
        for section in SECTIONS:
            count = sum(1 for s in site.stories if s.section == section)
            deepest = max(deepest, -(-count // PER_LISTING))
    return deepest + 1


def run_crawl(
    urls: list[str], db: str, workdir: Path, extra: list[str], profile: str | None
) -> tuple[dict[str, Any], float, TreeSampler]:
    exe = shutil.which("newsarchive")
    if exe is None:
        raise SystemExit("the newsarchive command is not installed in this environment")
    cmd = [
        exe, "crawl", *urls, "--db", db, "--local", "--json", "--quiet",
        "--max-pages", "1000000", "--log-file", str(workdir / "crawl.log"), *extra,
    ]  # fmt: skip
    if profile:
        spy = shutil.which("py-spy") or "py-spy"
        cmd = [
            spy, "record", "--threads", "--subprocesses", "-r", "50", "-f", "raw", "-o", profile,
            "--", *cmd,
        ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE, text=True)
    sampler = TreeSampler(psutil.Process(proc.pid))
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - started
    sampler.stop()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"crawl failed (exit {proc.returncode}); see {workdir / 'crawl.log'}")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"no JSON summary from the crawl; see {workdir / 'crawl.log'}")
    return json.loads(lines[-1]), wall, sampler


def print_profile(path: Path, top: int = 15) -> None:
    """Top functions of py-spy's collapsed stacks, per process role (the crawl process, the
    extraction workers together): by own samples, and including callees. py-spy samples only
    threads that are running, so a share is a share of that role's CPU time."""
    roles: dict[str, _Samples] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        processes = [f for f in frames if f.startswith("process ")]
        frames = frames[len(processes) :]
        role = _process_role(processes[-1]) if processes else "crawl (main)"
        thread, frames = frames[0], [_frame(f) for f in frames[1:]]
        roles.setdefault(role, _Samples()).add(thread, frames, count)
    if not roles:
        print("profile: no samples")
        return
    for role, samples in sorted(roles.items(), key=lambda kv: -kv[1].total):
        samples.report(role, top)


@dataclass(slots=True)
class _Samples:
    total: int = 0
    own: dict[str, int] = field(default_factory=dict)
    inclusive: dict[str, int] = field(default_factory=dict)
    threads: dict[str, int] = field(default_factory=dict)

    def add(self, thread: str, frames: list[str], count: int) -> None:
        self.total += count
        thread = re.sub(r"\(\d+\)", "", thread).strip()
        self.threads[thread] = self.threads.get(thread, 0) + count
        if frames:
            self.own[frames[-1]] = self.own.get(frames[-1], 0) + count
        for frame in set(frames):
            self.inclusive[frame] = self.inclusive.get(frame, 0) + count

    def report(self, role: str, top: int) -> None:
        print(f"profile of {role}: {self.total} samples")
        for thread, count in sorted(self.threads.items(), key=lambda kv: -kv[1])[:6]:
            print(f"  {100 * count / self.total:5.1f} %  {thread}")
        print("  top by own time:")
        for frame, count in sorted(self.own.items(), key=lambda kv: -kv[1])[:top]:
            print(f"    {100 * count / self.total:5.1f} %  {frame}")
        print("  top including callees:")
        for frame, count in sorted(self.inclusive.items(), key=lambda kv: -kv[1])[:top]:
            print(f"    {100 * count / self.total:5.1f} %  {frame}")


def _process_role(frame: str) -> str:
    if "resource_tracker" in frame:
        return "resource tracker"
    if "multiprocessing" in frame or "spawn_main" in frame:
        return "extraction workers"
    return "crawl (main)"


def _frame(frame: str) -> str:
    """``function (path/to/module.py:line)`` → ``function (module.py)``."""
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rstrip(")")
    parts = Path(file).parts
    short = "/".join(parts[-2:]) if len(parts) >= 2 else file
    return f"{name} ({short})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="article pages served")
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument(
        "--db",
        help="SQLite file name (default: a fresh file) or a postgresql:// URL of a database "
        "this script may drop and recreate",
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--profile",
        help="sample the crawl process and its workers with py-spy into this file (collapsed "
        "stacks)",
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the trafilatura pass")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("extra", nargs="*", help="more arguments for `newsarchive crawl`")
    args = parser.parse_args(argv)

    pages = load_corpus(args.corpus)
    sites = build_sites(pages, args.pages, args.sites)
    workdir = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    web = LocalWeb([Site(s.name, None, s.serve) for s in sites])
    for site in sites:
        site.web = web
    with web:
        base_of = {story.path: site.base for site in sites for story in site.stories}
        stories = [story for site in sites for story in site.stories]
        bare = None if args.no_bare else bare_trafilatura(stories, base_of)
        db = fresh_archive(args.db, workdir, "bench-crawl.db")
        # Every served story must be reachable: past the crawl's DEPTH_LIMIT (6, about 2,400
        # pages here) the oldest stories of the sites without a sitemap (found through their
        # section pages only) were never reached, and a large run measured fewer URLs than it
        # served. Smaller runs keep the crawl's own limit.
        depth = listing_depth([s for s in sites if "sitemap" not in s.kind])
        extra = [*args.extra]
        if depth > DEPTH_LIMIT and "--max-depth" not in extra:
            extra += ["--max-depth", str(depth)]
        summary, wall, sampler = run_crawl(
            [site.base + "/" for site in sites], db, workdir, extra, args.profile
        )
    # articles_new counts every new article row, syndicated copies included
    articles = summary["articles_new"] + summary["articles_updated"] + summary["articles_unchanged"]
    backend = "postgresql" if "://" in db else "sqlite"
    print(f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {backend}")
    print(
        f"served {args.pages} article pages ({len({s.page.name for s in stories})} distinct) "
        f"on {len(sites)} sites ({', '.join(s.kind for s in sites)})"
    )
    print(
        f"crawl: {summary['pages']} pages fetched, {articles} articles stored "
        f"({summary['articles_new']} new, {summary['duplicates']} copies), "
        f"{summary['not_articles']} not articles, {summary['errors']} errors, "
        f"status {summary['status']}"
    )
    e2e = articles / wall
    print(f"end-to-end      {e2e:7.2f} articles/s  ({wall:.1f} s wall, start-up included)")
    if bare is not None:
        bare_rate = bare[0] / bare[1]
        print(f"bare trafilatura {bare_rate:6.2f} pages/CPU-s ({bare[0]} pages in {bare[1]:.1f} s)")
        print(f"ratio           {e2e / bare_rate:7.2f} x")
    biggest = max(sampler.procs.values(), key=lambda p: p.peak_rss)
    print(f"peak RSS        {biggest.peak_rss / 2**20:7.0f} MB largest ({biggest.label}), "
          f"{sampler.tree_peak / 2**20:.0f} MB tree "
          f"({sampler.tree_peak_pss / 2**20:.0f} MB tree PSS)")  # fmt: skip
    cpu_total = 0.0
    for pid, stat in sorted(sampler.procs.items(), key=lambda kv: -kv[1].cpu):
        cpu_total += stat.cpu
        print(f"  cpu {stat.cpu:7.1f} s  rss {stat.peak_rss / 2**20:5.0f} MB  {stat.label} ({pid})")
    print(f"  cpu {cpu_total:7.1f} s  total")
    if articles and cpu_total:
        # independent of other load on the machine, unlike the wall-clock rate above
        per_cpu = articles / cpu_total
        line = f"articles per CPU-second of the crawl tree {per_cpu:.2f}"
        if bare is not None:
            line += f" = {per_cpu / (bare[0] / bare[1]):.2f} x bare trafilatura"
        print(line)
    if args.profile:
        print_profile(Path(args.profile))
    if args.keep:
        print(f"work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
