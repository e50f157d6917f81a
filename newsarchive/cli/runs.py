"""``newsarchive runs``: the crawl run history."""

from __future__ import annotations

import click

from newsarchive.archive.runs import HEALTH_RUNS, list_runs, source_health
from newsarchive.cli import EXIT_PARTIAL, archive_session, cli, db_option, dumps, echo


@cli.command()
@db_option
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--job", metavar="NAME", help="Only runs of this job.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--health",
    is_flag=True,
    help="Judge each source on its last runs instead; exit code 1 if any source is unhealthy.",
)
@click.option(
    "--health-runs",
    type=click.IntRange(min=1),
    default=HEALTH_RUNS,
    show_default=True,
    help="How many recent runs of a source --health looks at.",
)
def runs(
    db: str | None, limit: int, job: str | None, as_json: bool, health: bool, health_runs: int
) -> None:
    """List recent crawl runs, newest first (or, with --health, flag failing sources)."""
    if health:
        show_health(db, health_runs, as_json)
        return
    with archive_session(db) as session:
        views = list_runs(session, limit=limit, job=job)
    if as_json:
        for view in views:
            click.echo(dumps(view.as_json(), compact=True))
        return
    click.echo(
        f"{'id':>4}  {'started (UTC)':19}  {'status':11}  {'pages':>6}  {'new':>5}  "
        f"{'upd':>4}  {'dup':>4}  {'err':>4}  sources"
    )
    for v in views:
        echo(
            f"{v.id:>4}  {v.started_at:%Y-%m-%d %H:%M:%S}  {v.status:11}  {v.pages_fetched:>6}  "
            f"{v.articles_new:>5}  {v.articles_updated:>4}  {v.articles_duplicate:>4}  "
            f"{v.errors:>4}  {', '.join(v.sources)[:60]}"
        )


def show_health(db: str | None, last_n: int, as_json: bool) -> None:
    with archive_session(db) as session:
        report = source_health(session, last_n=last_n)
    if as_json:
        for h in report:
            click.echo(dumps(h.as_json(), compact=True))
    else:
        click.echo(f"{'source':30}  {'runs':>4}  {'pages':>6}  {'new':>5}  {'err':>4}  health")
        for h in report:
            verdict = "ok" if h.healthy else ", ".join(h.problems)
            echo(
                f"{h.source[:30]:30}  {h.runs:>4}  {h.pages:>6}  {h.articles_new:>5}  "
                f"{h.errors:>4}  {verdict}"
            )
    if any(not h.healthy for h in report):
        raise SystemExit(EXIT_PARTIAL)
