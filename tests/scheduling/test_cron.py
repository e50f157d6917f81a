"""What a scheduler relies on: exit codes, the lock, SIGTERM, quiet/JSON/log-file output, the
progress line on a terminal, and ``newsarchive runs`` / ``--health``."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import time
from typing import TYPE_CHECKING

import pytest
from support.cli import run_cli as run_newsarchive
from support.waiting import wait_until

from newsarchive.archive import open_archive
from newsarchive.archive.runs import list_runs
from newsarchive.demo.server import Response
from newsarchive.run.joblock import crawl_lock

from .crawler import article_gets, run_cli, slow_site, start_crawl

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.slow
THROTTLE = ("-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "-s", "CONCURRENT_REQUESTS=2")


def test_overlapping_run_exits_3_at_once(archive_url: str, tmp_path: Path) -> None:
    web = slow_site(tmp_path / "site", 2, delay=0.0)
    archive = open_archive(archive_url)
    try:
        with web, crawl_lock(archive, "nightly"):
            started = time.monotonic()
            proc = run_cli(archive_url, web.url("ledger"), "--job", "nightly", "--quiet")
            assert proc.returncode == 3, proc.stderr
            assert "crawl job 'nightly' on this archive is already running" in proc.stderr
            assert proc.stdout == ""
            assert time.monotonic() - started < 30
            assert web.requests_for() == []
    finally:
        archive.dispose()


def test_sigterm_finishes_in_flight_pages_and_exits_4(tmp_path: Path) -> None:
    web = slow_site(tmp_path / "site", 20, delay=0.3)
    db = str(tmp_path / "news.db")
    with web:
        proc = start_crawl(
            db,
            web.url("ledger"),
            "--json",
            *THROTTLE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        wait_until(
            lambda: len(article_gets(web)) >= 4, 60, "4 articles requested", interval=0.02,
            alive=proc,
        )  # fmt: skip
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 4, err
        summary = json.loads(out)
        assert summary["status"] == "interrupted"
        requested = set(article_gets(web))
        archive = open_archive(db)
        try:
            with archive.session() as s:
                run = list_runs(s)[0]
            from sqlalchemy import select

            from newsarchive.archive.models import Article

            with archive.session() as s:
                stored = {u.split("/", 3)[3] for u in s.scalars(select(Article.canonical_url))}
        finally:
            archive.dispose()
        assert run.status == "interrupted"
        # every page the server was asked for before the signal was finished and stored
        assert {p.lstrip("/") for p in requested} == stored
        assert 4 <= len(stored) < 20
        web.clear_log()
        again = run_cli(db, web.url("ledger"), "--json")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["articles_new"] == 20 - len(stored)


def test_quiet_json_log_file_and_partial_exit_code(tmp_path: Path) -> None:
    web = slow_site(tmp_path / "site", 3, delay=0.0)
    broken = web.sites["ledger"]
    slow = broken.handler

    def fail_one(request):  # type: ignore[no-untyped-def]
        if request.path.endswith("-1.html"):
            return Response(500, b"boom", {"Content-Type": "text/plain"})
        return slow(request)

    broken.handler = fail_one
    db = str(tmp_path / "news.db")
    log = tmp_path / "crawl.log"
    with web:
        quiet = run_cli(db, web.url("ledger"), "--quiet", "--log-file", str(log))
        assert quiet.returncode == 1  # partial: one article failed after retries
        assert quiet.stdout == ""
        # cron mails what a job prints: only the errors, one line each
        assert quiet.stderr.splitlines()
        assert all(" ERROR " in line for line in quiet.stderr.splitlines()), quiet.stderr
        assert "Gave up retrying" in quiet.stderr
        text = log.read_text()
        assert "Spider closed (finished)" in text
        assert "-1.html" in text
        web.clear_log()
        # the same link failing again is listed, but a link broken for good must not make
        # every later run partial (docs/scheduling.md, exit-code policy)
        as_json = run_cli(db, web.url("ledger"), "--json")
        summary = json.loads(as_json.stdout)
        assert as_json.returncode == 0
        assert summary["status"] == "ok"
        assert summary["errors_by_kind"] == {"gave_up_after_retries": 1}
        assert summary["known_failures"] == 1
        human = run_cli(db, web.url("ledger"))
        assert "crawl run 3: ok" in human.stdout
        assert "still failing  1" in human.stdout
    listed = run_newsarchive("runs", "--db", db, "--json", check=True)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok", "partial"]
    assert rows[-1]["articles_new"] == 2

    def health(*args: str) -> tuple[int, list[dict[str, object]]]:
        proc = run_newsarchive("runs", "--db", db, "--health", "--json", *args)
        return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()]

    code, (row,) = health()  # the first of the last three runs found two articles
    assert (code, row["problems"], row["articles_new"]) == (0, [], 2)
    code, (row,) = health("--health-runs", "2")  # the last two found nothing new
    assert (code, row["problems"], row["articles_new"], row["runs"]) == (1, ["nothing_new"], 0, 2)


def test_progress_line_on_a_terminal(tmp_path: Path) -> None:
    web = slow_site(tmp_path / "site", 8, delay=0.4)
    db = str(tmp_path / "news.db")
    with web:
        primary, replica = pty.openpty()
        proc = start_crawl(
            db,
            web.url("ledger"),
            *THROTTLE,
            stdout=subprocess.PIPE,
            stderr=replica,
            stdin=subprocess.DEVNULL,
        )
        os.close(replica)
        seen = b""
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    seen += os.read(primary, 4096)
                except OSError:
                    break
        proc.wait(timeout=60)
        os.close(primary)
    assert proc.returncode == 0
    assert b"\r\x1b[Kpages " in seen
    assert b"pages/s | errors 0" in seen


def test_a_second_ctrl_c_is_still_an_interruption(tmp_path: Path) -> None:
    """Regression: two SIGINTs in a row stopped the reactor before the spider closed, and the run
    was recorded as failed (exit 2) instead of interrupted (exit 4)."""
    web = slow_site(tmp_path / "site", 20, delay=0.3)
    db = str(tmp_path / "news.db")
    with web:
        proc = start_crawl(
            db,
            web.url("ledger"),
            "--json",
            *THROTTLE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        wait_until(
            lambda: len(article_gets(web)) >= 2, 60, "2 articles requested", interval=0.02,
            alive=proc,
        )  # fmt: skip
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, err
    assert json.loads(out)["status"] == "interrupted"
    with open_archive(db) as archive, archive.session() as s:
        assert list_runs(s)[0].status == "interrupted"
