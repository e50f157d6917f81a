"""``newsarchive search|show|stats|serve``: reading the archive."""

from __future__ import annotations

import dataclasses
import itertools
import logging
from typing import TYPE_CHECKING, Any

import click

from newsarchive.archive import open_archive
from newsarchive.archive.reports import get_article, publisher_time, stats
from newsarchive.archive.search import MAX_RESULT_DEPTH, SearchFilters, search
from newsarchive.cli import archive_session, cli, db_option, dumps, terminal_text

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from sqlalchemy.orm import Session

    from newsarchive.archive.reports import ArchiveStats, ArticleView
    from newsarchive.archive.search import SearchHit

logger = logging.getLogger(__name__)

FILTER_OPTIONS = ("source", "since", "until", "lang", "company", "topic", "include_duplicates")


def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--source", help="Only this source (its name in the source registry)."),
        click.option("--since", help="Published on/after (YYYY-MM-DD or ISO 8601; UTC if naive)."),
        click.option("--until", help="Published before; a bare date includes that whole day."),
        click.option("--lang", help="Language code; 'en' also matches 'en-GB'."),
        click.option(
            "--company",
            help="Articles naming this company (id, name or alias; a group includes its brands).",
        ),
        click.option("--topic", help="Articles tagged with this topic (see `newsarchive topics`)."),
        click.option(
            "--include-duplicates",
            is_flag=True,
            help="List syndicated copies too (default: one row per original).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _filters(kw: dict[str, Any]) -> SearchFilters:
    """Pop the filter options out of a command's keyword arguments."""
    return SearchFilters.from_params(**{name: kw.pop(name) for name in FILTER_OPTIONS})


def format_hit(hit: SearchHit) -> str:
    when = hit.published.date().isoformat() if hit.published else "no date"
    extra = f"  copy of #{hit.duplicate_of}" if hit.duplicate_of else ""
    if hit.duplicate_count:
        extra += f"  (+{hit.duplicate_count} cop{'y' if hit.duplicate_count == 1 else 'ies'})"
    lines = [
        f"#{hit.id}  {when}  {hit.source}  {hit.lang or '-'}  score {hit.score:.4g}{extra}",
        f"  {hit.title or '(no title)'}",
        f"  {hit.canonical_url}",
    ]
    if hit.snippet:
        lines.append(f"  {hit.snippet}")
    return terminal_text("\n".join(lines))


@cli.command("search", context_settings={"ignore_unknown_options": True})
@click.argument("query", nargs=-1, required=True)
@filter_options
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option(
    "--offset", default=0, show_default=True, type=click.IntRange(0, MAX_RESULT_DEPTH - 1)
)
@click.option("--json", "as_json", is_flag=True, help="One JSON array of hits.")
@db_option
def search_cmd(
    query: tuple[str, ...], limit: int, offset: int, as_json: bool, db: str | None, **kw: Any
) -> None:
    """Full-text search, best matches first (syntax: words, "phrases", OR, -word, prefix*)."""
    # unknown options are let through so that "-recall" can be a query term; a mistyped long
    # option must not silently become search words
    for token in query:
        if token.startswith("--") and len(token) > 2:
            raise click.UsageError(f"No such option: {token.split('=', 1)[0]}")
    filters = _filters(kw)
    with archive_session(db) as session:
        hits = search(session, " ".join(query), filters, limit=limit, offset=offset)
    if as_json:
        click.echo(dumps([dataclasses.asdict(h) for h in hits]))
    else:
        click.echo("\n\n".join(format_hit(h) for h in hits) if hits else "no matches")


def _local_time(value: datetime | None, offset_minutes: int | None) -> str:
    """A stored UTC time shown in the offset the page gave, as the publisher wrote it."""
    local = publisher_time(value, offset_minutes)
    return "-" if local is None else local.isoformat()


RULE_TEXT = {
    "published": "original: published first",
    "credit": "original: credited by the copy",
    "first_seen": "original: seen first",
    "group": "original: of the group",
}


def _rule(rule: str | None) -> str:
    """Why the original is the original, as ``show`` prints it after a copy line."""
    return f"; {RULE_TEXT.get(rule, rule)}" if rule else ""


def _topics(view: ArticleView) -> str:
    """``ev (electric car*, EV), batteries (batter*)``: each topic with the terms behind it."""
    return ", ".join(f"{t.topic} ({', '.join(t.terms)})" for t in view.topics)


def _format_article(view: ArticleView) -> str:
    dated_by = f" ({view.date_source})" if view.date_source else ""
    lines = [
        f"#{view.id}  {view.title or '(no title)'}",
        f"source:     {view.source}",
        f"url:        {view.url}",
        f"canonical:  {view.canonical_url}",
        f"published:  {_local_time(view.published, view.published_offset)}{dated_by}",
        f"authors:    {', '.join(view.authors) or '-'}",
        f"lang:       {view.lang or '-'}",
        f"companies:  {', '.join(view.companies) or '-'}",
        f"topics:     {_topics(view) or '-'}",
        f"seen:       {view.first_seen.isoformat()} .. {view.last_seen.isoformat()}",
        f"version:    {view.version} ({view.previous_versions} earlier)",
        f"sha256:     {view.content_sha256}",
    ]
    if view.original:
        o = view.original
        lines.append(
            f"copy of:    #{o.id} {o.url} ({o.source}, {o.kind} {o.score:.2f}{_rule(o.rule)})"
        )
    for c in view.copies:
        lines.append(
            f"copy:       #{c.id} {c.url} ({c.source}, {c.kind} {c.score:.2f}{_rule(c.rule)})"
        )
    if view.story_id is not None:
        lines.append(f"story:      {view.story_id} ({len(view.story_mates) + 1} articles)")
    for m in view.story_mates:
        lines.append(
            f"story mate: #{m.id} {m.source} {m.lang or '-'} ({m.how}) {m.title or '(no title)'}"
        )
    for cap in view.captures:
        lines.append(f"capture:    {cap.fetched_at.isoformat()} HTTP {cap.status} {cap.final_url}")
    return terminal_text("\n".join([*lines, "", view.body]))


def _format_versions(session: Session, article_id: int) -> str:
    from newsarchive.archive.versions import article_versions, version_diff

    versions = article_versions(session, article_id)
    lines = [
        f"version {v.version}  {v.captured_at.isoformat()}  {v.content_sha256[:12]}"
        f"{'  (current)' if v.current else ''}"
        for v in versions
    ]
    diffs = [version_diff(old, new) for old, new in itertools.pairwise(versions)]
    return terminal_text("\n".join([*lines, *diffs]))


@cli.command("show")
@click.argument("article")
@click.option("--json", "as_json", is_flag=True, help="All fields as JSON.")
@db_option
@click.option("--versions", is_flag=True, help="Also print the diff between successive versions.")
def show_cmd(article: str, as_json: bool, db: str | None, versions: bool) -> None:
    """Show one article (by id or URL) with its captures and duplicates."""
    with archive_session(db) as session:
        view = get_article(session, article)
        history = _format_versions(session, view.id) if versions else None
    click.echo(dumps(view) if as_json else _format_article(view))
    if history is not None:
        click.echo("\n" + history)


def _format_stats(st: ArchiveStats) -> str:
    lines = [
        f"articles:   {st.articles} ({st.originals} originals, {st.duplicates} duplicates)",
        f"captures:   {st.captures}",
        f"sources:    {st.sources}",
        "",
        "per source:",
        *(f"  {n:>8}  {name}" for name, n in st.per_source),
        "per language:",
        *(f"  {n:>8}  {lang or 'unknown'}" for lang, n in st.per_language),
        f"per day (last {st.days} days, by publication date, else first seen):",
        *(f"  {d.isoformat()}  {n:>6}" for d, n in st.per_day),
    ]
    return terminal_text("\n".join(lines))


@cli.command("stats")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 3660))
@click.option(
    "--until",
    "until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day of the per-day counts (default: today, UTC).",
)
@click.option("--json", "as_json", is_flag=True)
@db_option
def stats_cmd(days: int, until: datetime | None, as_json: bool, db: str | None) -> None:
    """Totals, and counts per source, language and day."""
    with archive_session(db) as session:
        result = stats(session, days=days, today=until.date() if until else None)
    click.echo(dumps(result.as_dict()) if as_json else _format_stats(result))


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Also accept this Host header (a DNS name the server is reached by); repeatable.",
)
@click.option(
    "--time-limit",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.1, 600),
    help="Seconds of database work allowed per request.",
)
@click.option(
    "--cache-size",
    default=256,
    show_default=True,
    type=click.IntRange(0),
    help="Answers kept while the archive is unchanged (0: compute every request).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes serving requests; each keeps its own answer cache and facet index "
    "(default: one per CPU, at most 4).",
)
@click.option(
    "--facet-index/--no-facet-index",
    default=True,
    show_default=True,
    help="Count facets and timelines on an in-memory copy of their columns (else in SQL).",
)
@db_option
def serve_cmd(
    host: str,
    port: int,
    allow_hosts: tuple[str, ...],
    time_limit: float,
    cache_size: int,
    workers: int | None,
    facet_index: bool,
    db: str | None,
) -> None:
    """Serve the analysts' web app and JSON API (read-only) until interrupted."""
    from newsarchive.web import WebServer
    from newsarchive.web.server import default_workers

    with open_archive(db, read_only=True) as archive:
        server = WebServer(
            archive,
            host,
            port,
            extra_hosts=allow_hosts,
            time_limit=time_limit,
            cache_size=cache_size,
            facet_index=facet_index,
            workers=workers or default_workers(),
        )
        click.echo(f"serving {server.url} (Ctrl-C to stop)")
        server.serve()
