"""Items: layout-change alarms and the exit-code policy for cron.

The redesign fixture is one site crawled three times in full: twice as usual, then after a
template change that drops the bylines (visible and in JSON-LD). Nothing fails — every page
answers 200 and is stored — so only the field-coverage alarm can tell: ``runs --health`` must
flag ``coverage_drop/authors`` against the source's own median and exit 1, ``--json`` must carry
the numbers, and ``crawl --metrics-file`` must show the drop to a dashboard.

The exit-code policy: a run is partial when a source fails wholly or new failures pass 10 % of
what it stored; a link that keeps failing run after run is listed, not counted.
"""

from __future__ import annotations

import json
import re
import socket
from typing import TYPE_CHECKING

from support.cli import run_cli
from support.newssite import NewsSite

from newsarchive.demo.server import Response

from .crawling import crawl

if TYPE_CHECKING:
    from pathlib import Path

    from newsarchive.demo.server import Request

BYLINE = re.compile(rb'<p class="byline">.*?</p>|"author": \{[^}]*\}, ', re.DOTALL)


class RedesignedSite(NewsSite):
    """The news site whose article template can lose its bylines, and one article that can
    fail with a 500 for good."""

    def __init__(self, count: int) -> None:
        super().__init__(count=count)
        self.redesigned = False
        self.broken: str | None = None

    def serve(self, request: Request) -> Response | None:
        if request.path == self.broken:
            return Response(500, b"internal error", {"Content-Type": "text/plain"})
        response = super().serve(request)
        if self.redesigned and response is not None and request.path.startswith("/news/20"):
            assert isinstance(response.body, bytes)
            response.body = BYLINE.sub(b"", response.body)
        return response


def test_a_redesign_that_drops_bylines_trips_the_health_alarm(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    metrics = tmp_path / "newsarchive.prom"
    with RedesignedSite(6) as site:
        for n in range(2):
            run = crawl(db, [site.home], tmp_path / f"{n}.log", "--full")
            assert run.exit_code == 0, run.stderr[-2000:]
        healthy = run_cli("runs", "--health", "--json", "--db", db)
        site.redesigned = True
        run = crawl(db, [site.home], tmp_path / "r.log", "--full", "--metrics-file", str(metrics))
    assert run.exit_code == 0, run.stderr[-2000:]  # nothing failed: only coverage can tell
    assert healthy.returncode == 0, healthy.stdout
    health = run_cli("runs", "--health", "--json", "--db", db)
    assert health.returncode == 1, health.stdout
    (row,) = [json.loads(line) for line in health.stdout.splitlines()]
    assert "coverage_drop/authors" in row["problems"]
    assert row["coverage"]["shares"]["authors"] == 0.0
    assert row["coverage"]["baseline_shares"]["authors"] == 1.0
    assert row["coverage"]["articles"] == 6
    text = run_cli("runs", "--health", "--db", db)
    assert text.returncode == 1
    assert "coverage_drop/authors" in text.stdout
    prom = metrics.read_text()
    source = row["source"]
    assert (
        f'newsarchive_source_field_coverage{{job="crawl",source="{source}",field="authors"}} 0.0'
        in prom
    )
    assert (
        f'newsarchive_source_field_coverage{{job="crawl",source="{source}",field="title"}} 1.0'
        in prom
    )
    assert f'newsarchive_source_healthy{{job="crawl",source="{source}"}} 0.0' in prom
    assert 'newsarchive_crawl_status{job="crawl",status="ok"} 1.0' in prom
    assert not list(tmp_path.glob(".newsarchive.prom.*"))  # replaced atomically


def test_exit_codes_tell_a_dead_source_from_a_link_broken_for_good(tmp_path: Path) -> None:
    db = str(tmp_path / "news.db")
    with socket.socket() as s:  # a port nobody listens on: the dead source
        s.bind(("127.0.0.2", 0))
        dead = f"http://127.0.0.2:{s.getsockname()[1]}/"
    with RedesignedSite(4) as site:
        site.broken = site.stories[0].path
        settings = ("-s", "RETRY_TIMES=0")
        first = crawl(db, [site.home, dead], tmp_path / "1.log", *settings)
        second = crawl(db, [site.home], tmp_path / "2.log", *settings)
        third = crawl(db, [site.home], tmp_path / "3.log", *settings)
    assert first.summary is not None
    assert second.summary is not None
    assert third.summary is not None
    # a source that failed wholly: partial, named in the summary
    assert first.exit_code == 1, first.stderr[-2000:]
    (failed,) = first.summary["failed_sources"]
    assert failed.startswith("127.0.0.2")
    # the broken link fails again: listed, but the run is ok (exit 0) — cron stays quiet
    assert (second.exit_code, second.summary["status"]) == (0, "ok")
    assert second.summary["errors"] >= 1
    assert second.summary["known_failures"] == 1
    assert (third.exit_code, third.summary["known_failures"]) == (0, 1)
