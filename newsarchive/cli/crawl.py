"""``newsarchive crawl``: one crawl run, with a summary and an honest exit code."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from newsarchive.archive.search import parse_date_filter
from newsarchive.cli import (
    EXIT_FATAL,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_PARTIAL,
    cli,
    db_option,
    dumps,
    setup_logging,
)
from newsarchive.contracts import RunStatus
from newsarchive.discovery.sources import select_sources
from newsarchive.errors import ConfigError, CrawlLockedError
from newsarchive.run.crawl import CrawlOptions, run_crawl

if TYPE_CHECKING:
    from datetime import datetime

    from newsarchive.discovery.sources import SourceConfig
    from newsarchive.run.crawl import CrawlSummary

EXIT_BY_STATUS = {
    RunStatus.OK: EXIT_OK,
    RunStatus.PARTIAL: EXIT_PARTIAL,
    RunStatus.INTERRUPTED: EXIT_INTERRUPTED,
}


def check_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() for ch in value)
    ):
        raise click.BadParameter(f"{value!r} is not an http(s) URL with a host", param_hint="URL")
    return value


def parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_date_filter(value)
    except ConfigError:
        raise click.BadParameter(
            f"{value!r} is not a date (use YYYY-MM-DD or an ISO 8601 datetime)",
            param_hint="--since",
        ) from None


def parse_overrides(values: tuple[str, ...]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name.strip().isupper():
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", param_hint="--set")
        settings[name.strip()] = setting
    return settings


def print_summary(summary: CrawlSummary) -> None:
    click.echo(
        f"crawl run {summary.run_id}: {summary.status} ({summary.finish_reason}) "
        f"in {summary.seconds:.1f} s"
    )
    click.echo(f"  pages fetched  {summary.pages} ({summary.pages_per_second:.1f} pages/s)")
    click.echo(
        f"  articles       {summary.articles_new} new, {summary.articles_updated} updated, "
        f"{summary.articles_unchanged} unchanged"
    )
    click.echo(f"  copies linked  {summary.duplicates} (syndicated/duplicate articles)")
    click.echo(f"  not articles   {summary.not_articles}")
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(summary.errors_by_kind.items()))
    click.echo(f"  errors         {summary.errors}" + (f" ({kinds})" if kinds else ""))
    if summary.known_failures:
        click.echo(f"  still failing  {summary.known_failures} (failed in earlier runs too)")
    if summary.failed_sources:
        click.echo(f"  failed wholly  {', '.join(summary.failed_sources)}")


def resolve_sources(
    names: tuple[str, ...], all_sources: bool, sources_file: str | None
) -> list[SourceConfig]:
    """Registry sources to crawl; ``--sources-file`` extends the registry, it crawls nothing."""
    if not (names or all_sources):
        return []
    extra = Path(sources_file) if sources_file else None
    return select_sources(None if all_sources else names, extra)


@cli.command()
@click.argument("urls", nargs=-1, callback=lambda _c, _p, v: tuple(check_url(u) for u in v))
@db_option
@click.option(
    "--source",
    "source_names",
    multiple=True,
    metavar="NAME",
    help="Crawl a source from the registry (repeatable).",
)
@click.option("--all-sources", is_flag=True, help="Crawl every source in the registry.")
@click.option(
    "--sources-file",
    type=click.Path(exists=True, dir_okay=False),
    help="A TOML file of extra sources (same format as the bundled registry).",
)
@click.option("--max-pages", type=click.IntRange(min=1), help="Stop a source after N pages.")
@click.option(
    "--max-depth", type=click.IntRange(min=0), help="Maximum link depth from a start URL."
)
@click.option("--since", metavar="DATE", help="Skip sitemap/feed entries older than DATE.")
@click.option("--job", metavar="NAME", help="Name recorded in the run history (and lock name).")
@click.option(
    "--local",
    is_flag=True,
    help="No politeness delay (only for sites on your own machine/network).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors (for cron).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Write the full crawl log here.")
@click.option(
    "--resume",
    is_flag=True,
    help="Re-run the last crashed or interrupted run of --job (its URLs and sources if none "
    "are given). Pending URLs of the crawled sources are always resumed.",
)
@click.option(
    "--revisit-after",
    type=click.FloatRange(min=0, min_open=True),
    metavar="HOURS",
    help="Revalidate stored articles last fetched more than HOURS ago (conditional requests).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Ignore what the archive already holds: fetch every page found (no incremental skip).",
)
@click.option(
    "--lock-dir",
    type=click.Path(file_okay=False),
    help="Directory for the job lock file of a SQLite archive (default: next to the database).",
)
@click.option(
    "--set",
    "-s",
    "overrides",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a Scrapy setting (repeatable), e.g. -s CLOSESPIDER_TIMEOUT=3600.",
)
@click.option(
    "--metrics-file",
    type=click.Path(dir_okay=False),
    help="After the run, write its outcome and per-source health as a Prometheus textfile "
    "(node_exporter textfile collector).",
)
@click.option(
    "--redis",
    metavar="URL",
    help="Share the frontier of --job with other workers through Redis (scale-out).",
)
@click.option(
    "--redis-idle",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="With --redis: exit after the shared queue stayed empty this long (default 30).",
)
@click.option(
    "--reset-queue",
    is_flag=True,
    help="With --redis: clear the job's shared queue and seen-URL filter first "
    "(refused while a worker of the job is alive).",
)
def crawl(
    urls: tuple[str, ...],
    db: str | None,
    source_names: tuple[str, ...],
    all_sources: bool,
    sources_file: str | None,
    max_pages: int | None,
    max_depth: int | None,
    since: str | None,
    job: str | None,
    local: bool,
    quiet: bool,
    as_json: bool,
    log_file: str | None,
    resume: bool,
    revisit_after: float | None,
    full: bool,
    lock_dir: str | None,
    overrides: tuple[str, ...],
    metrics_file: str | None,
    redis: str | None,
    redis_idle: float | None,
    reset_queue: bool,
) -> None:
    """Crawl news sites from start URLs or registry sources into the archive.

    Exit codes: 0 ok, 1 partial (some pages or sources failed), 2 fatal, 3 locked, 4 interrupted.
    """
    if all_sources and source_names:
        raise click.UsageError("--all-sources and --source exclude each other")
    sources = resolve_sources(source_names, all_sources, sources_file)
    if (redis_idle is not None or reset_queue) and not redis:
        raise click.UsageError("--redis-idle and --reset-queue need --redis")
    if redis and not (db or "").startswith(("postgresql", "postgres")):
        raise click.UsageError(
            "--redis needs a PostgreSQL archive (--db postgresql://…): workers write at once"
        )
    if redis and not job:
        raise click.UsageError("--redis needs --job NAME: workers of one job share a queue")
    if redis and reset_queue:
        from newsarchive.run.scaleout import reset_job

        click.echo(f"cleared {reset_job(redis, job or '')} Redis key(s) of job {job!r}", err=True)
    if not urls and not sources and not resume:
        raise click.UsageError("give start URLs, --source NAME, --all-sources or --resume")
    try:
        setup_logging(logging.ERROR if quiet else logging.WARNING, log_file)
    except OSError as exc:
        raise ConfigError(f"cannot write the log file {log_file}: {exc.strerror}") from exc
    options = CrawlOptions(
        start_urls=list(urls),
        sources=sources,
        db=db,
        max_pages=max_pages,
        max_depth=max_depth,
        since=parse_since(since),
        local=local,
        job=job,
        progress=not quiet and not as_json,
        sources_file=sources_file,
        resume=resume,
        revisit_after=revisit_after,
        incremental=not full,
        lock_dir=lock_dir,
        redis=redis,
        redis_idle=redis_idle,
        settings=parse_overrides(overrides),
        metrics_file=metrics_file,
    )
    try:
        summary = run_crawl(options)
    except CrawlLockedError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(EXIT_LOCKED) from None
    if as_json:
        click.echo(dumps(summary.as_json(), compact=True))
    elif not quiet:
        print_summary(summary)
    raise SystemExit(EXIT_BY_STATUS.get(summary.status, EXIT_FATAL))
