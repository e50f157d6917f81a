"""``newsarchive db``: schema management."""

from __future__ import annotations

import click

from newsarchive.archive import open_archive, resolve_db_url, upgrade
from newsarchive.archive.db import Archive, describe, make_engine
from newsarchive.archive.linking import rebuild_anchor_index
from newsarchive.archive.search import SearchFilters
from newsarchive.archive.stories import build_stories
from newsarchive.archive.tagging import retag
from newsarchive.cli import cli, db_option

# The revision that introduced the translation (anchor) index.
TRANSLATION_INDEX_REVISION = "0003"
# The revision that introduced topics, stories and entity anchors.
STORIES_REVISION = "0004"


@cli.group()
def db() -> None:
    """Manage the archive database schema."""


@db.command("upgrade")
@db_option
def db_upgrade(db: str | None) -> None:
    """Create the archive or migrate it to this version's schema."""
    url = resolve_db_url(db)
    with Archive(url, make_engine(url)) as archive:
        before, after = upgrade(archive)
        if before is not None and before < TRANSLATION_INDEX_REVISION <= after:
            # articles stored before 0003 have no anchor index: index them, or no translation
            # published later could ever be linked to them
            rebuild_anchor_index(archive)
            click.echo(f"{describe(url)}: translation index built for existing articles")
        if before is not None and before < STORIES_REVISION <= after:
            # existing articles get topics, entity anchors (cross-language copies) and stories
            if before >= TRANSLATION_INDEX_REVISION:
                rebuild_anchor_index(archive)
            tagged = retag(archive, SearchFilters(include_duplicates=True))
            built = build_stories(archive)
            click.echo(
                f"{describe(url)}: {tagged.articles} existing articles tagged, "
                f"{built} put into stories"
            )
    if before == after:
        click.echo(f"{describe(url)}: already at schema {after}")
    else:
        click.echo(f"{describe(url)}: schema {before or 'empty'} -> {after}")


@db.command("check")
@db_option
def db_check(db: str | None) -> None:
    """Open the archive and report its backend and schema revision."""
    with open_archive(db, create=False) as archive:
        click.echo(f"{describe(archive.url)}: {archive.backend}, schema up to date")
