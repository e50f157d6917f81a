"""What the bench scripts share: a fresh archive location for a run, and the commit measured."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def fresh_archive(db: str | None, workdir: Path, default_name: str) -> str:
    """A SQLite file in ``workdir`` (``db`` names it, else ``default_name``), or for a
    ``postgresql://`` URL that database dropped and created empty: a run never measures an
    archive left over from another one."""
    if not db or "://" not in db:
        return str(workdir / (db or default_name))
    from sqlalchemy import create_engine, text

    from newsarchive.archive.db import resolve_db_url

    url = resolve_db_url(db)
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    engine.dispose()
    return db


def checkout_commit(directory: str | Path) -> str:
    """The short commit of the checkout at ``directory`` (with "+" when its tracked files have
    changes), so that a run's output says what it measured, and side-by-side runs of two
    worktrees say which is which; "unknown" outside git."""
    try:
        head, dirty = (
            subprocess.run(
                ["git", "-C", str(directory), *args],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            for args in (["rev-parse", "--short", "HEAD"], ["status", "--porcelain", "-uno"])
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+" if dirty else "")
