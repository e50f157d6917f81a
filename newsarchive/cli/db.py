"""``newsarchive db``: schema management."""

from __future__ import annotations

import click

from newsarchive.archive import open_archive, resolve_db_url, upgrade
from newsarchive.archive.db import Archive, describe, make_engine
from newsarchive.cli import cli, db_option


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
