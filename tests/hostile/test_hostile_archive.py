"""Hostile input at the archive and CLI: bad queries, SQL injection, broken databases, full disks."""

from __future__ import annotations

import contextlib
import random
import shutil
import sqlite3
import subprocess
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from support.cli import run_cli

import newsarchive.cli.query  # noqa: F401  (registers search/show/export on the group)
from newsarchive.archive import open_archive
from newsarchive.archive.store import save_page
from newsarchive.cli import cli
from newsarchive.demo.server import Response
from newsarchive.extraction import extract
from newsarchive.items import FetchedPage

from .harness import article_html, good_site, query, run_crawl, snapshot

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from .harness import FaultWeb, Seeded

INJECTIONS = [
    "x' OR '1'='1",
    "x' OR 1=1 --",
    "1; DROP TABLE articles; --",
    "x'); DELETE FROM articles; --",
    "' UNION SELECT name, sql, 1, 1 FROM sqlite_master --",
    '" OR ""="',
    "%' OR '%'='",
    "*",
    "\\' OR 1=1 /*",
]


def schema_and_counts(db: Path) -> tuple[list[dict[str, Any]], dict[str, int]]:
    schema = query(db, "SELECT type, name, sql FROM sqlite_master ORDER BY type, name")
    counts = {
        row["name"]: query(db, f'SELECT count(*) AS n FROM "{row["name"]}"')[0]["n"]
        for row in schema
        if row["type"] == "table" and not row["name"].startswith("articles_fts_")
    }
    return schema, counts


@pytest.fixture
def filled(archive_url: str) -> str:
    """An archive on each backend holding three extracted articles (written by the store)."""
    return fill(archive_url)


def fill(archive_url: str) -> str:
    archive = open_archive(archive_url)
    try:
        with archive.session() as session:
            for i in range(3):
                url = f"https://www.motorwire.example/news/2026/11/battery-plant-{i}.html"
                body = article_html(f"Battery plant story {i}", 300 + i).encode()
                now = datetime.now(UTC)
                page = FetchedPage(url, url, 200, body, now, "motorwire")
                page.article = extract(body, url, now)
                assert page.article is not None
                save_page(session, page)
    finally:
        archive.dispose()
    return archive_url


def archive_state(url: str) -> tuple[list[str], dict[str, int], list[tuple[Any, ...]]]:
    """Tables, row counts and article rows, read with plain SQL on either backend."""
    archive = open_archive(url, create=False)
    try:
        tables = sorted(sa_inspect(archive.engine).get_table_names())
        with archive.engine.connect() as conn:
            counts = {
                t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                for t in tables
                if not t.startswith("articles_fts_")
            }
            rows = [
                tuple(r)
                for r in conn.execute(
                    text("SELECT id, canonical_url, title, body FROM articles ORDER BY id")
                )
            ]
    finally:
        archive.dispose()
    return tables, counts, rows


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), prog_name="newsarchive")


def assert_clean_failure(result: Any, *, code: int = 2) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    "text",
    ['"unterminated phrase', "battery OR", "OR battery", "-battery", "a*", '"plant"*', "!!! ???"],
)
def test_bad_query_syntax_is_a_clear_error(filled: str, text: str) -> None:
    result = invoke("search", text, "--db", filled)
    assert_clean_failure(result)
    assert result.output.startswith("error: "), result.output
    assert len(result.output.strip().splitlines()) == 1


def test_sql_injection_through_every_filter_has_no_effect(filled: str, tmp_path: Path) -> None:
    db = filled
    before = archive_state(filled)
    baseline = invoke("search", "battery", "--db", db, "--json")
    assert baseline.exit_code == 0, baseline.output
    assert '"id"' in baseline.output, "the seeded articles match: injections must find none"
    for payload in INJECTIONS:
        for option in ("--source", "--lang", "--company"):
            for args in (
                ("search", "battery", option, payload, "--json"),
                ("export", "--format", "jsonl", option, payload),
            ):
                result = invoke(*args, "--db", db)
                assert result.exit_code == 0, (args, result.output)
                assert '"id"' not in result.output, f"{args} matched rows"
        for option in ("--since", "--until"):
            result = invoke("search", "battery", option, payload, "--db", db)
            assert_clean_failure(result)
            result = invoke("export", option, payload, "--db", db)
            assert_clean_failure(result)
        result = invoke("export", "--query", payload, "--db", db)
        assert result.exit_code in (0, 2)
        assert "Traceback" not in result.output
        result = invoke("search", payload, "--db", db)
        assert result.exit_code in (0, 2), result.output
        assert "Traceback" not in result.output
        result = invoke("show", payload, "--db", db)
        assert_clean_failure(result)
        out = tmp_path / f"export-{uuid.uuid4().hex[:6]}.csv"
        result = invoke(
            "export", "--format", "csv", "-o", str(out), "--source", payload, "--db", db
        )
        assert result.exit_code == 0, result.output
    assert archive_state(filled) == before


BROKEN_DATABASES = [
    "postgresql://nobody@127.0.0.1:1/news",  # nothing listens on port 1
    "postgresql://no_such_user_x9:pw@127.0.0.1:5432/test",  # the server refuses this user
]


@pytest.mark.parametrize("url", BROKEN_DATABASES)
def test_unreachable_database_and_wrong_credentials(url: str, tmp_path: Path) -> None:
    for args in (["search", "battery"], ["export"], ["show", "1"]):
        result = invoke(*args, "--db", url)
        assert_clean_failure(result)
        assert result.output.startswith("error: "), result.output
        assert "pw@" not in result.output, "the password is never printed"
    # The crawl runs as a process, as in production: it must fail before starting Scrapy.
    proc = run_cli("crawl", "http://127.0.0.1:9/", "--local", "--db", url, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: "), proc.stderr
    assert "pw@" not in proc.stderr


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """A read-only view of a directory (chmod is no barrier to root: a read-only bind mount is)."""
    ro = path.parent / "ro"
    ro.mkdir()
    try:
        subprocess.run(
            ["mount", "--bind", "-o", "ro", str(path), str(ro)], check=True, capture_output=True
        )
    except (subprocess.CalledProcessError, FileNotFoundError, PermissionError) as exc:
        pytest.skip(f"cannot make a read-only mount here: {exc}")
    try:
        yield ro
    finally:
        subprocess.run(["umount", str(ro)], check=False)


@pytest.mark.slow
def test_read_only_database_fails_cleanly(
    fault_web: Callable[..., FaultWeb], tmp_path: Path
) -> None:
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    db = archive_dir / "archive.db"
    fill(str(db))
    web = fault_web({"good": good_site("ro")})
    before = archive_state(str(db))
    with read_only(archive_dir) as ro_dir:
        result = run_crawl([web.url("good")], ro_dir / db.name, workdir=tmp_path)
        assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("error: "), result.stderr
        assert "read" in result.stderr.lower(), result.stderr
        assert not web.hits_for("good"), "nothing is fetched that could not be stored"
    assert archive_state(str(db)) == before, "nothing half-written"


@contextlib.contextmanager
def small_filesystem(where: Path, size: str) -> Iterator[Path]:
    mnt = where / "small"
    mnt.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
            check=True,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, FileNotFoundError, PermissionError) as exc:
        pytest.skip(f"cannot mount a size-limited tmpfs (needs root/CAP_SYS_ADMIN): {exc}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.slow
def test_disk_full_fails_cleanly_and_the_next_run_continues(
    seeded: Seeded, fault_web: Callable[..., FaultWeb], tmp_path: Path
) -> None:
    # Incompressible article bodies: 30 pages of random words fill a 2 MiB filesystem quickly.
    rng = random.Random(7)
    vocab = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8)) for _ in range(5000)
    ]
    site = good_site("full", count=30)
    for path, route in site.items():
        if path != "/" and isinstance(route, Response) and isinstance(route.body, bytes):
            filler = " ".join(rng.choice(vocab) for _ in range(12_000)).encode()
            route.body = route.body.replace(b"</article>", b"<p>" + filler + b"</p></article>")
    web = fault_web({"full": site})
    with small_filesystem(tmp_path, "2m") as mnt:
        db = mnt / "archive.db"
        shutil.copyfile(seeded.db, db)
        first = run_crawl([web.url("full")], db, workdir=tmp_path)
        assert first.exit_code in (1, 2), (first.exit_code, first.summary, first.stderr[-2000:])
        assert "Traceback" not in first.stderr
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()
        stored_first = len(snapshot(db))
        assert stored_first < 3 + 30, "the disk filled before the crawl ended"
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        second = run_crawl([web.url("full")], db, workdir=tmp_path)
        assert second.exit_code == 0, (second.summary, second.stderr[-2000:])
        assert len(snapshot(db)) == 3 + 30, "the next run with space stored the rest"
        assert_seed_rows(db, seeded)


def assert_seed_rows(db: Path, seeded: Seeded) -> None:
    after = {r["id"]: r for r in snapshot(db)}
    for row in seeded.before:
        assert after[row["id"]] == row


def test_unwritable_log_file_is_a_clear_error(tmp_path: Path) -> None:
    log_file = tmp_path / "no" / "such" / "dir" / "crawl.log"
    proc = run_cli(
        *("crawl", "http://127.0.0.1:9/", "--local", "--db", str(tmp_path / "a.db")),
        *("--log-file", str(log_file)),
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: "), proc.stderr
