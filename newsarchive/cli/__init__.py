"""The ``newsarchive`` command: a thin click layer over the archive, crawl and extraction APIs.

Commands live in one module per area (``crawl``, ``query``, ``db``…) and register themselves on
``cli``. Every expected failure is a ``NewsArchiveError`` and becomes one line on stderr with a
non-zero exit code; tracebacks are for bugs only.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from newsarchive import __version__
from newsarchive.errors import NewsArchiveError

logger = logging.getLogger(__name__)

# Exit codes, documented in README.md ("Exit codes").
EXIT_OK = 0
EXIT_PARTIAL = 1  # the job ran but some pages/sources failed
EXIT_FATAL = 2  # nothing useful happened: bad arguments, unreachable database, crash
EXIT_LOCKED = 3  # another run holds the lock
EXIT_INTERRUPTED = 4  # SIGINT/SIGTERM: in-flight items finished, run recorded as interrupted

COMMAND_MODULES = ("db", "crawl", "query", "sources", "runs", "demo")


class ArchiveGroup(click.Group):
    """Turns NewsArchiveError into a one-line message instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NewsArchiveError as exc:
            raise NewsArchiveClickError(str(exc)) from exc


class NewsArchiveClickError(click.ClickException):
    exit_code = EXIT_FATAL

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


db_option = click.option(
    "--db",
    "db",
    envvar="NEWSARCHIVE_DB",
    default=None,
    metavar="URL",
    help="Archive: a SQLite path or a postgresql:// URL (env NEWSARCHIVE_DB; "
    "default ./newsarchive.db).",
)


def setup_logging(level: int = logging.WARNING, log_file: str | None = None) -> None:
    """stderr gets ``level`` and above; ``--log-file`` gets the full INFO log of the run.

    Levels are set on the handlers, not the root logger: Scrapy resets logger levels when it
    configures logging, handler levels survive that.
    """
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level)
    handlers: list[logging.Handler] = [console]
    if log_file:
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setLevel(logging.INFO)
        handlers.append(file_handler)
    logging.basicConfig(
        level=min(h.level for h in handlers),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )


@click.group(cls=ArchiveGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsarchive")
def cli() -> None:
    """Crawl automotive news sites into a deduplicated, searchable archive."""


def _register() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(f"newsarchive.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"newsarchive.cli.{name}":
                raise


def main() -> None:
    _register()
    cli(prog_name="newsarchive")
