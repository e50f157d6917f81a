"""``newsarchive stories``: articles grouped by the event they report."""

from __future__ import annotations

import dataclasses
import logging

import click

from newsarchive.archive.search import company_names, parse_date_filter
from newsarchive.archive.stories import list_stories
from newsarchive.cli import archive_session, cli, db_option, dumps

logger = logging.getLogger(__name__)


@cli.command("stories")
@click.option("--since", help="Stories with an article on/after this day (YYYY-MM-DD).")
@click.option("--until", help="Stories with an article on/before this day (YYYY-MM-DD).")
@click.option("--company", help="Stories naming this company (a group includes its brands).")
@click.option(
    "--min-size", default=2, show_default=True, type=click.IntRange(1), help="Fewest articles."
)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
@db_option
def stories_cmd(
    since: str | None,
    until: str | None,
    company: str | None,
    min_size: int,
    limit: int,
    as_json: bool,
    db: str | None,
) -> None:
    """Stories (one event across outlets and languages), largest first."""
    with archive_session(db) as session:
        views = list_stories(
            session,
            since=parse_date_filter(since) if since else None,
            until=parse_date_filter(until) if until else None,
            company_names=company_names(company) if company else None,
            min_size=min_size,
            limit=limit,
        )
    if as_json:
        click.echo(dumps([dataclasses.asdict(v) for v in views]))
        return
    if not views:
        click.echo("no stories")
    for v in views:
        days = v.first_day if v.first_day == v.last_day else f"{v.first_day}..{v.last_day}"
        click.echo(
            f"story {v.id}  {v.size} articles ({v.copies} copies)  {days}  "
            f"langs {','.join(v.languages)}\n  #{v.first_article} {v.title or '(no title)'}\n"
            f"  outlets: {', '.join(v.sources)}"
        )
