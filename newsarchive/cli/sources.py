"""``newsarchive sources``: list the source registry."""

from __future__ import annotations

import json
from pathlib import Path

import click

from newsarchive.cli import cli
from newsarchive.discovery.sources import load_sources


@cli.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print the sources as a JSON array.")
@click.option(
    "--sources-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A TOML file of extra sources, added to (and overriding) the bundled ones.",
)
def sources_command(as_json: bool, sources_file: Path | None) -> None:
    """List the news sources the crawler knows."""
    sources = load_sources(sources_file)
    if as_json:
        click.echo(
            json.dumps([s.to_dict() for s in sources.values()], indent=2, ensure_ascii=False)
        )
        return
    for s in sorted(sources.values(), key=lambda s: s.name):
        hints = f"{len(s.feeds)} feed(s), {len(s.sitemaps)} sitemap(s)"
        click.echo(
            f"{s.name:26} {s.language or '-':3} {s.country or '-':4} {s.homepage}  ({hints})"
        )
