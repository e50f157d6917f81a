"""Crawls in subprocesses and direct looks at a PostgreSQL archive, for the reliability suite."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from support.cli import start_cli

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(slots=True)
class Crawl:
    exit_code: int
    summary: dict[str, Any] | None
    stderr: str
    log: str


# A crawl of public-looking sites on loopback without --local: no politeness delay still.
FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False")


def crawl_args(db: str, urls: list[str], log: Path, *extra: str) -> list[str]:
    """``--local`` unless ``extra`` starts with ``--public`` (then the FAST settings apply)."""
    if extra[:1] == ("--public",):
        return ["crawl", *urls, "--db", db, "--json", "--log-file", str(log), *FAST, *extra[1:]]
    return ["crawl", *urls, "--db", db, "--local", "--json", "--log-file", str(log), *extra]


def start_crawl(db: str, urls: list[str], log: Path, *extra: str) -> subprocess.Popen[str]:
    return start_cli(
        *crawl_args(db, urls, log, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def finish(proc: subprocess.Popen[str], log: Path, timeout: float = 120) -> Crawl:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"crawl did not finish in {timeout:.0f} s:\n{err[-3000:]}") from None
    summary = next(
        (json.loads(line) for line in reversed(out.splitlines()) if line.startswith("{")), None
    )
    text = log.read_text("utf-8", "replace") if log.exists() else ""
    return Crawl(proc.returncode, summary, err, text)


def crawl(db: str, urls: list[str], log: Path, *extra: str, timeout: float = 120) -> Crawl:
    return finish(start_crawl(db, urls, log, *extra), log, timeout)


def pg_rows(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on the archive at ``url`` (a search_path option in the URL is kept)."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        return list(conn.execute(sql, params or None).fetchall())


def pg_count(url: str, sql: str, *params: Any) -> int:
    for _ in range(50):
        try:
            return int(pg_rows(url, sql, *params)[0][0])
        except psycopg.OperationalError:
            time.sleep(0.1)  # the server is restarting
    raise AssertionError("archive unreachable")
