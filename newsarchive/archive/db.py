"""Opening an archive: URL resolution, engine tuning per backend, schema version checks.

SQLite is the embedded default and PostgreSQL the scale-up backend; everything above this module
is backend-agnostic except the full-text search SQL (``search.py``).
"""

from __future__ import annotations

import functools
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session, sessionmaker

from newsarchive.errors import (
    ArchiveError,
    ArchiveUnavailableError,
    ConfigError,
    PageRejectedError,
    SchemaOutdatedError,
    TransactionConflictError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

logger = logging.getLogger(__name__)

DEFAULT_DB_FILE = "newsarchive.db"
ENV_VAR = "NEWSARCHIVE_DB"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_READ_MMAP_BYTES = 1 << 30  # read-only engines map up to 1 GiB of the file


def resolve_db_url(value: str | None = None) -> URL:
    """Turn ``--db`` / ``$NEWSARCHIVE_DB`` / the default into a SQLAlchemy URL.

    A bare path means a SQLite file, so that ``--db news.db`` just works; ``postgresql://`` is
    routed to the psycopg 3 driver, the only PostgreSQL driver we install.
    """
    raw = value or os.environ.get(ENV_VAR) or DEFAULT_DB_FILE
    if "://" not in raw:
        return URL.create("sqlite", database=str(Path(raw).expanduser().resolve()))
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"bad database URL {raw!r}: {exc}") from exc
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"unsupported database {url.get_backend_name()!r} in {raw!r}: "
            "use a SQLite path or a postgresql:// URL"
        )
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_read_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Reads through a memory map: a read-only server's queries touch article rows at random
    # (filters, bodies of candidates), and without it every page is a pread() into the
    # connection's 2 MB cache; mapped, pages come straight from the OS cache, shared by all
    # connections and worker processes (3-5x less time per row read at 100,000 articles).
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA mmap_size={SQLITE_READ_MMAP_BYTES}")
    cur.close()


def _sqlite_read_only_url(url: URL) -> URL:
    """The file opened as a SQLite URI with ``mode=ro``: the driver itself refuses every write."""
    return url.set(
        database="file:" + quote(str(url.database)),
        query={**url.query, "mode": "ro", "uri": "true"},
    )


def _pg_read_only(dbapi_conn: Any, _record: Any) -> None:
    # a session default, so every transaction on this connection is READ ONLY in the server
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    dbapi_conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    dbapi_conn.autocommit = autocommit


def make_engine(url: URL, *, read_only: bool = False) -> Engine:
    """An engine for ``url``; ``read_only`` makes the database refuse writes (a web server's
    engine: a bug or an injected statement there cannot change the archive)."""
    try:
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                parent = Path(url.database).parent
                if not parent.is_dir():
                    raise ArchiveError(
                        f"cannot open archive {url.database}: {parent} does not exist"
                    )
            engine_url = _sqlite_read_only_url(url) if read_only else url
            engine = create_engine(
                engine_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            )
            event.listen(engine, "connect", _sqlite_pragmas)
            if read_only:
                event.listen(engine, "connect", _sqlite_read_pragmas)
            return engine
        engine = create_engine(
            url,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10, "application_name": "newsarchive"},
        )
        if read_only:
            event.listen(engine, "connect", _pg_read_only)
        return engine
    except (NoSuchModuleError, ArgumentError) as exc:
        raise ConfigError(f"bad database URL {url.render_as_string()}: {exc}") from exc


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "newsarchive.archive:migrations")
    cfg.attributes["engine"] = engine
    return cfg


def head_revision(engine: Engine) -> str:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert head is not None
    return head


def describe(url: URL) -> str:
    """The URL without its password, for messages."""
    return url.render_as_string(hide_password=True)


class Archive:
    """An open archive: one engine, a session factory and the backend name.

    Used as a context manager it disposes its engine on exit, so a short-lived caller cannot
    leave pooled connections behind on any path.
    """

    def __init__(self, url: URL, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self.backend = engine.dialect.name
        # When the server stopped answering (monotonic seconds; see archive/reconnect.py).
        self.outage_started: float | None = None
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with (
            self._sessions() as session,
            translate_errors(f"database error on {describe(self.url)}"),
            session.begin(),
        ):
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.dispose()


def dialect_insert(session: Session, table: Any) -> Any:
    """An INSERT with the backend's ``on_conflict_do_*`` (both backends spell it the same).

    Built on the model's Table, not the mapped class: an INSERT on the class goes through the
    ORM's bulk-insert machinery on every execution, about a tenth of the archive writer's CPU
    for the same statement and rows (the column and attribute names of every model are the
    same, ``test_dialect_insert_names_match``). A Core statement does not autoflush the
    session: objects added before it are written at the next flush or ORM statement, which
    every caller reaches before it reads them.
    """
    return backend_insert(session.get_bind().dialect.name, getattr(table, "__table__", table))


@functools.cache
def backend_insert(dialect: str, table: Any) -> Any:
    """One INSERT object per backend and table, shared: a statement is immutable (``values()``
    and ``on_conflict_do_*`` return new ones), and a shared one keeps its cache key, which
    SQLAlchemy otherwise computes again for each new object on every execution."""
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(archive: Archive, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to ``revision``; returns (before, after)."""
    cfg = alembic_config(archive.engine)
    with translate_errors(f"migration failed on {describe(archive.url)}"):
        before = current_revision(archive.engine)
        script = ScriptDirectory.from_config(cfg)
        if before is not None and before not in {s.revision for s in script.walk_revisions()}:
            raise SchemaOutdatedError(
                f"archive {describe(archive.url)} is at schema {before}, newer than this "
                f"newsarchive ({script.get_current_head()}): upgrade newsarchive"
            )
        with archive.engine.begin() as conn:
            if archive.backend == "sqlite":
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return before, current_revision(archive.engine) or ""


# SQLSTATEs of a server going away or not taking connections yet (restart, failover).
UNAVAILABLE_SQLSTATES = ("57P01", "57P02", "57P03")
# SQLSTATEs of a transaction the server aborted for a concurrent one: serialization failure,
# deadlock (the crawl's archive and frontier writers both upsert url_state rows).
CONFLICT_SQLSTATES = ("40001", "40P01")


def error_class(exc: DBAPIError) -> type[ArchiveError]:
    """Which ArchiveError a driver error is: the server is away (wait for it), the data of one
    page is refused (lose that page), or anything else (the archive is broken: stop).

    psycopg reports a refused or dropped connection as an ``OperationalError`` without a
    SQLSTATE; a server shutting down answers class 57P; refused data is class 22 (data
    exception: ``\u0000`` in jsonb), 23 (integrity) or 54 (program limit: an index row over
    the btree maximum), and a NUL in text is refused by psycopg itself as a ``DataError``.
    """
    orig = exc.orig
    state = str(getattr(orig, "sqlstate", None) or "")
    from_psycopg = type(orig).__module__.startswith("psycopg")
    if exc.connection_invalidated or state.startswith("08") or state in UNAVAILABLE_SQLSTATES:
        return ArchiveUnavailableError
    if from_psycopg and not state and type(orig).__name__ == "OperationalError":
        return ArchiveUnavailableError
    if state in CONFLICT_SQLSTATES:
        return TransactionConflictError
    if isinstance(exc, DataError | IntegrityError) or state.startswith(("22", "23", "54")):
        return PageRejectedError
    return ArchiveError


@contextmanager
def translate_errors(context: str) -> Iterator[None]:
    """Re-raise driver errors as one-line ArchiveErrors (the CLI shows them without traceback)."""
    try:
        yield
    except DBAPIError as exc:
        raise error_class(exc)(f"{context}: {_first_line(exc.orig)}") from exc
    except SQLAlchemyError as exc:
        raise ArchiveError(f"{context}: {_first_line(exc)}") from exc
    except UnicodeEncodeError as exc:
        # a lone surrogate the driver cannot encode: the data of this statement, not the archive
        raise PageRejectedError(
            f"{context}: text the archive cannot encode ({exc.reason})"
        ) from exc


def open_archive(
    value: str | URL | None = None, *, create: bool = True, read_only: bool = False
) -> Archive:
    """Open (and on first use create) an archive, refusing one at another schema version.

    A brand-new database is migrated to head; an existing one at an older revision is left alone
    and the caller is told to run ``newsarchive db upgrade`` — silently migrating a shared
    production database from a crawl job is not ours to decide. ``read_only`` (which implies
    ``create=False``) opens SQLite with ``mode=ro`` and makes every PostgreSQL transaction
    READ ONLY.
    """
    url = value if isinstance(value, URL) else resolve_db_url(value)
    create = create and not read_only
    if (
        not create
        and url.get_backend_name() == "sqlite"
        and url.database not in (None, "", ":memory:")
        and not Path(url.database).exists()
    ):
        # sqlite3 would create an empty file: a typo in --db must not leave one behind
        raise ArchiveError(
            f"no archive at {url.database} (crawl into it, or create it with "
            "`newsarchive db upgrade`)"
        )
    archive = Archive(url, make_engine(url, read_only=read_only))
    try:
        _check_schema(archive, create=create)
    except BaseException:
        archive.dispose()
        raise
    return archive


def _check_schema(archive: Archive, *, create: bool) -> None:
    url, engine = archive.url, archive.engine
    with translate_errors(f"cannot open archive {describe(url)}"):
        current = current_revision(engine)
        has_tables = bool(inspect(engine).get_table_names())
    head = head_revision(engine)
    if current is None and not has_tables:
        if not create:
            raise ArchiveError(
                f"no archive at {describe(url)} (crawl into it, or create it with "
                "`newsarchive db upgrade`)"
            )
        upgrade(archive)
        return
    if current is None:
        raise ArchiveError(f"{describe(url)} holds tables but is not a newsarchive archive")
    if current != head:
        known = {
            s.revision for s in ScriptDirectory.from_config(alembic_config(engine)).walk_revisions()
        }
        if current not in known:
            raise SchemaOutdatedError(
                f"archive {describe(url)} is at schema {current}, newer than this newsarchive "
                f"({head}): upgrade newsarchive"
            )
        raise SchemaOutdatedError(
            f"archive {describe(url)} is at schema {current}, this newsarchive needs {head}: "
            f"run `newsarchive db upgrade --db {describe(url)}`"
        )


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
