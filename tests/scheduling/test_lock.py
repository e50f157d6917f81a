"""The crawl lock: one run per job and archive, on both backends, released by process death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
from support.waiting import wait_until

from newsarchive.archive import open_archive
from newsarchive.errors import CrawlLockedError
from newsarchive.run.joblock import crawl_lock, lock_path

if TYPE_CHECKING:
    from pathlib import Path

    from newsarchive.archive import Archive

HOLDER = """
import sys, time
from newsarchive.archive import open_archive
from newsarchive.run.joblock import crawl_lock
archive = open_archive(sys.argv[1])
with crawl_lock(archive, sys.argv[2] or None):
    print("locked", flush=True)
    time.sleep(60)
"""


def _hold_in_subprocess(url: str, job: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-P", "-c", HOLDER, url, job], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_holder_is_refused_until_the_first_releases(archive: Archive) -> None:
    with crawl_lock(archive, "nightly"):
        other = open_archive(archive.url)
        try:
            with pytest.raises(CrawlLockedError, match=r"'nightly'.*already running"):  # noqa: SIM117
                with crawl_lock(other, "nightly"):
                    pass
            with crawl_lock(other, "hourly"):  # another job is independent
                pass
        finally:
            other.dispose()
    with crawl_lock(archive, "nightly"):  # released on exit
        pass


def test_lock_held_by_another_process_dies_with_it(archive: Archive, archive_url: str) -> None:
    proc = _hold_in_subprocess(archive_url, "cron")
    try:
        with pytest.raises(CrawlLockedError):  # noqa: SIM117
            with crawl_lock(archive, "cron"):
                pass
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def lock_free() -> bool:
        try:
            with crawl_lock(archive, "cron"):
                return True
        except CrawlLockedError:
            return False

    # PostgreSQL notices the closed connection a moment later
    wait_until(lock_free, 10, "the killed holder's lock to be released", interval=0.1)


def test_sqlite_lock_file_sits_next_to_the_archive_or_in_lock_dir(tmp_path: Path) -> None:
    db = tmp_path / "news.db"
    archive = open_archive(str(db))
    try:
        with crawl_lock(archive, "daily autos/eu"):
            path = lock_path(str(db), "daily autos/eu")
            assert path == tmp_path / "news.db.daily_autos_eu.lock"
            assert f"pid {os.getpid()}" in path.read_text()
        locks = tmp_path / "locks"
        locks.mkdir()
        with crawl_lock(archive, None, lock_dir=locks):
            assert (locks / "news.db.crawl.lock").exists()
            with pytest.raises(CrawlLockedError, match=f"pid {os.getpid()}"):  # noqa: SIM117
                with crawl_lock(archive, None, lock_dir=locks):
                    pass
    finally:
        archive.dispose()
