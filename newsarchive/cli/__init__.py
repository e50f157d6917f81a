"""The ``newsarchive`` command: a thin click layer over the archive, crawl and extraction APIs.

Commands live in one module per area (``crawl``, ``query``, ``db``…) and register themselves on
``cli``; they are imported at the bottom of this module, so ``cli`` is complete once imported. Every expected failure is a ``NewsArchiveError`` and becomes one line on stderr with a
non-zero exit code; tracebacks are for bugs only.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import json
import logging
import re
import sys
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click

from newsarchive import __version__
from newsarchive.archive import open_archive
from newsarchive.errors import NewsArchiveError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# Exit codes, documented in README.md ("Exit codes").
EXIT_OK = 0
EXIT_PARTIAL = 1  # the job ran but some pages/sources failed
EXIT_FATAL = 2  # nothing useful happened: bad arguments, unreachable database, crash
EXIT_LOCKED = 3  # another run holds the lock
EXIT_INTERRUPTED = 4  # SIGINT/SIGTERM: in-flight items finished, run recorded as interrupted


# Characters that drive a terminal instead of printing: C0 controls but tab and newline (ESC
# starts the sequences that move the cursor, retitle the window or rewrite the screen; CR
# overwrites the line), DEL, C1 controls (U+009B is a one-byte CSI on some terminals), and the
# bidirectional overrides that make text read differently from what it is.
_TERMINAL_CONTROLS = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# The ones JSON may carry raw (it escapes C0 itself): written as \uXXXX escapes instead.
_JSON_RAW_CONTROLS = re.compile(r"[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_text(text: str) -> str:
    """``text`` without the control characters a crawled page could use against the terminal
    that prints it (every text output of the CLI goes through this)."""
    return _TERMINAL_CONTROLS.sub("", text)


def echo(text: str = "", *, err: bool = False) -> None:
    """``click.echo`` of crawled or user-given text, made safe for a terminal first."""
    click.echo(terminal_text(text), err=err)


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
        echo(f"error: {self.format_message()}", err=True)


db_option = click.option(
    "--db",
    "db",
    envvar="NEWSARCHIVE_DB",
    default=None,
    metavar="URL",
    help="Archive: a SQLite path or a postgresql:// URL (env NEWSARCHIVE_DB; "
    "default ./newsarchive.db).",
)


class OneLineFormatter(logging.Formatter):
    """One line per record on the terminal (cron mails it): the exception as ``Type: message``,
    no traceback; the ``--log-file`` keeps the full record."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().strip()
        lines = message.splitlines() or [""]
        text = lines[0] + (" …" if len(lines) > 1 else "")
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            text += f" ({type(exc).__name__}{': ' + detail if detail else ''})"
        record_copy = logging.makeLogRecord(
            {**record.__dict__, "msg": terminal_text(text), "args": None}
        )
        record_copy.exc_info = record_copy.exc_text = None
        record_copy.stack_info = None
        return super().format(record_copy)


def setup_logging(level: int = logging.WARNING, log_file: str | None = None) -> None:
    """stderr gets ``level`` and above; ``--log-file`` gets the full INFO log of the run.

    Levels are set on the handlers, not the root logger: Scrapy resets logger levels when it
    configures logging, handler levels survive that.
    """
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level)
    console.setFormatter(OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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


@contextmanager
def archive_session(db: str | None, *, create: bool = False) -> Iterator[Session]:
    """One session on the archive ``--db`` names; the engine is disposed however it ends."""
    with open_archive(db, create=create) as archive, archive.session() as session:
        yield session


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any, *, compact: bool = False) -> str:
    """JSON for the ``--json`` options: dates as ISO 8601, text unescaped; ``compact`` is one
    line with sorted keys (one record per line), otherwise indented for reading."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if compact:
        text = json.dumps(value, default=_json_default, ensure_ascii=False, sort_keys=True)
    else:
        text = json.dumps(value, default=_json_default, ensure_ascii=False, indent=2)
    # such characters only occur inside JSON strings, where an escape means the same
    return _JSON_RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _register() -> None:
    """Kept for callers written when commands registered lazily; importing ``cli`` does it."""


def main() -> None:
    _spawn_without_main()
    cli(prog_name="newsarchive")


def _spawn_without_main() -> None:
    """Keep spawned worker processes from re-running the console script.

    A ``spawn`` child (the extraction pool's workers) first re-executes the parent's
    ``__main__`` by path, so that functions defined there unpickle. For the ``newsarchive``
    script that means importing the whole CLI (SQLAlchemy, Alembic, Scrapy's settings, every
    command) into every worker: 0.7 CPU-s and 70 MB each, for nothing, since their tasks are
    functions of the package. With the package's ``__main__`` as the script's spec,
    multiprocessing treats it as ``python -m newsarchive`` and skips that step; the workers
    import only what their tasks need.
    """
    script = sys.modules.get("__main__")
    if script is None or getattr(script, "__spec__", None) is not None:
        return  # python -m newsarchive, or a main module imported by name
    if getattr(script, "main", None) is not main:
        return  # not a script calling this command
    if any(
        (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == "__main__"
        for value in vars(script).values()
    ):
        return  # a program with code of its own, which its children may need
    script.__spec__ = importlib.util.find_spec("newsarchive.__main__")


# Imported last for their side effect: each module adds its commands to ``cli`` and imports
# the names above from this module.
for _name in (
    "db", "crawl", "query", "export", "sources", "runs", "pages", "demo", "tags", "stories",
):  # fmt: skip
    importlib.import_module(f"newsarchive.cli.{_name}")
