"""Regression: an archive migrated across schema 0003 must get its translation (anchor) index
built for the articles it already holds, or no later translation can ever link to them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import command
from sqlalchemy import func, select

from newsarchive.archive import open_archive
from newsarchive.archive.db import alembic_config
from newsarchive.archive.models import ArticleAnchor
from newsarchive.archive.store import save_page
from newsarchive.extraction.fingerprint import fingerprint

from .syndication import entries, entry_page

if TYPE_CHECKING:
    from collections.abc import Callable

    from click.testing import Result


def test_db_upgrade_across_0003_indexes_existing_articles(
    archive_url: str, invoke: Callable[..., Result]
) -> None:
    originals = [e for e in entries() if e.story in ("indep-analysis", "indep-local", "recall")]
    indexable = sum(1 for e in originals if fingerprint(e.body).anchor_bands)
    assert indexable >= 2
    with open_archive(archive_url) as arch:
        for entry in originals:
            with arch.session() as s:
                save_page(s, entry_page(entry))
        cfg = alembic_config(arch.engine)
        with arch.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0002")  # as if stored by a version before the index

    result = invoke("db", "upgrade", "--db", archive_url)
    assert result.exit_code == 0, result.output
    assert "translation index built for existing articles" in result.output
    with open_archive(archive_url) as arch, arch.session() as s:
        assert s.scalar(select(func.count()).select_from(ArticleAnchor)) == indexable
