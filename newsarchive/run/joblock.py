"""One crawl at a time per job and archive, so overlapping scheduled runs never race.

cron and systemd timers happily start a run while the previous one is still going (a slow site, a
long first crawl). The second run must exit at once with a clear message and its own exit code,
not double the load on the sites and fight the first for the archive.

Both kinds of lock die with their process — a kill -9 never leaves a stale lock behind:
- SQLite archives: ``fcntl.flock`` on a file next to the database (``news.db`` →
  ``news.db.<job>.lock``) or in ``lock_dir``; the kernel drops it when the process exits.
- PostgreSQL archives: a session advisory lock, dropped when the connection closes.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from newsarchive.errors import ConfigError, CrawlLockedError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from newsarchive.archive import Archive

logger = logging.getLogger(__name__)

DEFAULT_JOB = "crawl"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def lock_name(job: str | None) -> str:
    return job or DEFAULT_JOB


def lock_path(db_file: str, job: str | None, lock_dir: str | Path | None = None) -> Path:
    """Where the file lock of ``job`` on the SQLite archive ``db_file`` lives."""
    db = Path(db_file)
    name = f"{db.name}.{_UNSAFE.sub('_', lock_name(job))}.lock"
    if lock_dir is None:
        return db.with_name(name)
    return Path(lock_dir) / name


@contextmanager
def file_lock(path: Path, *, what: str) -> Iterator[Path]:
    """Hold an exclusive ``flock`` on ``path``; raise CrawlLockedError at once if it is taken."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ConfigError(f"cannot create lock file {path}: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            raise CrawlLockedError(
                f"{what} is already running ({holder or 'holder unknown'}; lock {path})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        logger.debug("lock %s taken", path)
        yield path
    finally:
        # Closing the descriptor releases the flock. The file stays: unlinking it would race
        # with a process that opened it but has not locked it yet.
        os.close(fd)


@contextmanager
def crawl_lock(
    archive: Archive, job: str | None, lock_dir: str | Path | None = None
) -> Iterator[None]:
    """Exclusive right to crawl ``job`` into ``archive`` for the duration of the block."""
    name = lock_name(job)
    what = f"crawl job {name!r} on this archive"
    if archive.backend == "sqlite" and archive.url.database not in (None, "", ":memory:"):
        with file_lock(lock_path(str(archive.url.database), job, lock_dir), what=what):
            yield
        return
    if archive.backend == "postgresql":
        from newsarchive.archive.locks import try_advisory_lock

        held = try_advisory_lock(archive, name)
        if held is None:
            raise CrawlLockedError(f"{what} is already running (PostgreSQL advisory lock held)")
        try:
            yield
        finally:
            held.release()
        return
    # An in-memory SQLite archive is private to this process: nothing to exclude.
    yield
