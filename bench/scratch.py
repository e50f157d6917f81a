"""A fresh archive location for a benchmark run (shared by the bench scripts)."""

from __future__ import annotations

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
