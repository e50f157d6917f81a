"""``newsarchive export`` (datasets for research) and ``reextract`` (the extractor over stored
HTML)."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from newsarchive.archive.export import (
    FORMATS,
    PARTITIONS,
    export_to_file,
    parse_field_list,
    write_export,
)
from newsarchive.archive.search import SearchFilters
from newsarchive.cli import archive_session, cli, db_option
from newsarchive.cli.query import _filters, filter_options

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from newsarchive.archive.export.schema import Field
    from newsarchive.archive.reextract import ReextractReport

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 5.0  # seconds between progress lines of a long re-extraction


def _export_to_stdout(
    session: Session,
    fmt: str,
    filters: SearchFilters,
    query: str | None,
    fields: Sequence[Field] | None,
) -> None:
    sys.stdout.flush()
    try:
        write_export(session, fmt, sys.stdout.buffer, filters, query, fields)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        # the reader went away (`| head`): stop quietly, as other Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(1) from None


@cli.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write here plus a manifest; without it, stream to stdout (no manifest).",
)
@click.option(
    "--fields",
    help="Comma-separated field names in output order, or 'all' (default: the documented set).",
)
@click.option(
    "--partition-by",
    type=click.Choice(PARTITIONS),
    help="One file per month/source/lang in the -o directory (Hive-style for Parquet).",
)
@click.option("--card", is_flag=True, help="Also write a Markdown dataset card beside the data.")
@click.option("--force", is_flag=True, help="Overwrite an -o path that is not a previous export.")
@filter_options
@click.option("--query", help="Only articles matching this search query.")
@db_option
def export_cmd(
    fmt: str,
    output: Path | None,
    fields: str | None,
    partition_by: str | None,
    card: bool,
    force: bool,
    query: str | None,
    db: str | None,
    **kw: Any,
) -> None:
    """Export articles in id order for analysis (JSON Lines, CSV, Parquet; WARC of captures)."""
    filters = _filters(kw)
    chosen = parse_field_list(fields) if fields is not None else None
    if output is None and (partition_by or card):
        raise click.UsageError("--partition-by and --card need -o")
    with archive_session(db) as session:
        if output is None:
            _export_to_stdout(session, fmt, filters, query, chosen)
            return
        result = export_to_file(
            session,
            fmt,
            output,
            filters,
            query,
            fields=chosen,
            partition_by=partition_by,
            card=card,
            force=force,
        )
    where = f"{len(result.files)} files in {result.path}" if partition_by else str(result.path)
    unit = "captures" if fmt == "warc" else "rows"
    card_note = f", card {result.card_path}" if result.card_path else ""
    click.echo(
        f"{result.rows} {unit} -> {where} (manifest {result.manifest_path}{card_note})", err=True
    )


def _format_reextract(report: ReextractReport) -> str:
    would = "would record" if report.dry_run else "recorded"
    run = f" (run {report.run_id})" if report.run_id is not None else " (dry run)"
    resumed = f", resumed after #{report.resumed_after}" if report.resumed_after else ""
    lines = [
        (
            f"re-extracted {report.articles} articles{run}{resumed}: {would} "
            f"{report.versions} new versions, {report.metadata_only} metadata updates; "
            f"{report.unchanged} unchanged, {sum(report.skipped.values())} kept as stored"
        ),
        f"copy links changed: {report.relinked}",
        "fields changed:" + ("" if report.fields else " none"),
        *(f"  {n:>8}  {name}" for name, n in report.fields.most_common()),
    ]
    if report.skipped:
        lines.append("kept as stored (extraction refused or failed):")
        lines += [f"  {n:>8}  {reason}" for reason, n in sorted(report.skipped.items())]
    return "\n".join(lines)


@cli.command("reextract")
@click.option("--source", help="Only this source.")
@click.option("--since", help="Published on/after (YYYY-MM-DD or ISO 8601).")
@click.option("--until", help="Published before; a bare date includes that whole day.")
@click.option("--lang", help="Language code; 'en' also matches 'en-GB'.")
@click.option("--company", help="Articles naming this company.")
@click.option("--query", help="Only articles matching this search query.")
@click.option("--dry-run", is_flag=True, help="Count what would change; write nothing.")
@click.option("--resume", is_flag=True, help="Continue the last interrupted re-extraction.")
@click.option("--workers", type=click.IntRange(0), help="Extraction processes (default: CPUs).")
@click.option("--batch", default=100, show_default=True, type=click.IntRange(1, 10000))
@db_option
def reextract_cmd(
    query: str | None,
    dry_run: bool,
    resume: bool,
    workers: int | None,
    batch: int,
    db: str | None,
    **kw: Any,
) -> None:
    """Run the current extractor again on the stored HTML (no network); copies included."""
    from newsarchive.archive import open_archive
    from newsarchive.archive.reextract import reextract
    from newsarchive.cli import EXIT_INTERRUPTED

    filters = SearchFilters.from_params(**kw)
    last = [time.monotonic()]

    def progress(report: ReextractReport) -> None:
        if time.monotonic() - last[0] >= PROGRESS_EVERY:
            last[0] = time.monotonic()
            click.echo(f"… {report.articles} articles, up to #{report.last_id}", err=True)

    with open_archive(db, create=False) as archive:
        try:
            report = reextract(
                archive,
                filters,
                query=query,
                dry_run=dry_run,
                resume=resume,
                workers=workers,
                batch=batch,
                progress=progress,
            )
        except KeyboardInterrupt:
            click.echo("interrupted: `newsarchive reextract --resume` continues", err=True)
            raise SystemExit(EXIT_INTERRUPTED) from None
    click.echo(_format_reextract(report))
