"""``newsarchive export``: datasets for research, and ``reextract``: the extractor over stored HTML."""

from __future__ import annotations

import logging
import os
import sys
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
from newsarchive.cli import archive_session, cli, db_option
from newsarchive.cli.query import _filters, filter_options

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from newsarchive.archive.export.schema import Field
    from newsarchive.archive.search import SearchFilters

logger = logging.getLogger(__name__)


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
