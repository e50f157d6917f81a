"""``newsarchive retag|companies|topics``: company and topic tags of the archive."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import click

from newsarchive.archive import open_archive
from newsarchive.archive.search import SearchFilters
from newsarchive.archive.tagging import company_counts, company_pairs, retag
from newsarchive.cli import archive_session, cli, db_option, dumps
from newsarchive.extraction.topics import load_topics

logger = logging.getLogger(__name__)


def _window_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--source", help="Only this source."),
            click.option("--since", help="Published on/after (YYYY-MM-DD or ISO 8601)."),
            click.option("--until", help="Published before; a bare date includes that day."),
        ]
    ):
        func = option(func)
    return func


@cli.command("retag")
@_window_options
@click.option("--lang", help="Only articles in this language.")
@click.option("--company", help="Only articles currently tagged with this company.")
@db_option
def retag_cmd(db: str | None, **kw: Any) -> None:
    """Re-apply the current gazetteer and topic rules to stored articles (no refetching)."""
    filters = SearchFilters.from_params(**kw, include_duplicates=True)
    with open_archive(db, create=False) as archive:
        result = retag(archive, filters)
    topics = ", ".join(f"{t} {n}" for t, n in sorted(result.topics.items())) or "-"
    click.echo(
        f"retagged {result.articles} articles ({result.companies_changed} with new companies)"
    )
    click.echo(f"topics: {topics}")


@cli.command("companies")
@_window_options
@click.option("--topic", help="Only articles tagged with this topic.")
@click.option("--pairs", is_flag=True, help="Rank pairs of companies named together instead.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
@db_option
def companies_cmd(pairs: bool, limit: int, as_json: bool, db: str | None, **kw: Any) -> None:
    """Companies ranked by the number of articles naming them (one per story copy group)."""
    filters = SearchFilters.from_params(**kw)
    with archive_session(db) as session:
        rows: list[Any] = (
            company_pairs(session, filters, limit=limit)
            if pairs
            else company_counts(session, filters, limit=limit)
        )
    if as_json:
        click.echo(dumps([dataclasses.asdict(r) for r in rows]))
    elif not rows:
        click.echo("no companies")
    elif pairs:
        for p in rows:
            click.echo(f"{p.articles:>6}  {p.first} + {p.second}")
    else:
        for c in rows:
            group = f"  ({c.group})" if c.group else ""
            click.echo(f"{c.articles:>6}  {c.company:<24} {c.kind or '-':<10}{group}")


@cli.command("topics")
def topics_cmd() -> None:
    """List the topics articles are tagged with, and how many terms each rule has."""
    for topic in load_topics().topics:
        click.echo(f"{topic.id:<12} {topic.name:<28} {len(topic.terms)} terms")
