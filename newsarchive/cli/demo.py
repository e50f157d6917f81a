"""``newsarchive demo``: the whole user path offline, on a bundled sample news web."""

from __future__ import annotations

import logging
import signal
import threading

import click

from newsarchive.archive.search import SearchFilters, search
from newsarchive.cli import EXIT_OK, EXIT_PARTIAL, archive_session, cli, setup_logging
from newsarchive.cli.crawl import print_summary
from newsarchive.cli.query import format_hit
from newsarchive.contracts import RunStatus
from newsarchive.demo import demo_sites, demo_sources
from newsarchive.demo.server import LocalWeb
from newsarchive.run.crawl import CrawlOptions, run_crawl

DEMO_QUERY = "Renault Xiaomi"
DEFAULT_DEMO_DB = "newsarchive-demo.db"
# Stable ports when free, so a second `newsarchive demo` recrawls the same URLs (and shows that
# nothing is stored twice); taken ones fall back to any free port.
DEMO_PORTS = {"autodaily": 47801, "motorwire": 47802, "autoitalia": 47803}


def wait_for_stop_signal() -> None:
    """Block until SIGINT or SIGTERM: works in the background too, where no terminal can be
    read for a key press."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass


@cli.command()
@click.option(
    "--db",
    default=DEFAULT_DEMO_DB,
    show_default=True,
    metavar="URL",
    help="Archive to crawl into (a SQLite path or a postgresql:// URL).",
)
@click.option(
    "--keep-serving",
    is_flag=True,
    help="Keep the demo sites running after the crawl, until Ctrl-C.",
)
def demo(db: str, keep_serving: bool) -> None:
    """Serve a sample automotive news web on 127.0.0.1, crawl it, then search it."""
    setup_logging(logging.WARNING)
    with LocalWeb(demo_sites(), preferred_ports=DEMO_PORTS) as web:
        sources = demo_sources(web)
        for source in sources:
            click.echo(f"serving {source.display_name:22} at {source.homepage}")
        summary = run_crawl(
            CrawlOptions(sources=sources, db=db, local=True, progress=True, job="demo")
        )
        print_summary(summary)
        with archive_session(db, create=True) as session:
            hits = search(session, DEMO_QUERY, SearchFilters(), limit=5)
        click.echo(f'\nsearch "{DEMO_QUERY}":\n')
        click.echo("\n\n".join(format_hit(h) for h in hits) if hits else "no matches")
        if keep_serving:
            click.echo("\ndemo sites still running; Ctrl-C (SIGINT) or SIGTERM stops them")
            wait_for_stop_signal()
    raise SystemExit(EXIT_OK if summary.status == RunStatus.OK else EXIT_PARTIAL)
