"""``newsarchive pages``: fetched pages that are not articles, and why."""

from __future__ import annotations

import click

from newsarchive.archive.skipped import not_articles
from newsarchive.cli import archive_session, cli, db_option, dumps


@cli.command()
@click.option(
    "--not-articles",
    "only_not_articles",
    is_flag=True,
    help="Pages fetched and not kept as articles, with the reason.",
)
@click.option("--source", help="Only this source.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@db_option
def pages(
    only_not_articles: bool, source: str | None, limit: int, as_json: bool, db: str | None
) -> None:
    """List fetched pages that are not articles, newest first, with why each was skipped.

    Example: newsarchive pages --not-articles --source autodaily --limit 20
    """
    if not only_not_articles:
        raise click.UsageError("say which pages to list: --not-articles")
    with archive_session(db) as session:
        rows = not_articles(session, source=source, limit=limit)
    for row in rows:
        if as_json:
            click.echo(dumps(row, compact=True))
        else:
            click.echo(f"{row.status:11s}  {row.source}  {row.url}")
            click.echo(f"             {row.reason or '-'}")
