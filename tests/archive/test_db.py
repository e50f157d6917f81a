from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import event, inspect, select, text
from sqlalchemy.pool import Pool

from newsarchive.archive import open_archive, resolve_db_url
from newsarchive.archive.db import current_revision, dialect_insert, head_revision, upgrade
from newsarchive.errors import ArchiveError, ConfigError, SchemaOutdatedError

if TYPE_CHECKING:
    from collections.abc import Callable

    from click.testing import Result

    from newsarchive.archive import Archive


def test_new_archive_is_migrated_to_head(archive: Archive) -> None:
    assert current_revision(archive.engine) == head_revision(archive.engine)
    tables = set(inspect(archive.engine).get_table_names())
    assert {"sources", "articles", "captures", "duplicates", "crawl_runs", "url_state"} <= tables


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_models_match_migrations(archive: Archive) -> None:
    """Autogenerate against a migrated database finds nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from newsarchive.archive.models import Base

    with archive.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # the FTS objects are deliberately outside the models
    diff = [d for d in diff if "fts" not in repr(d) and "search_vector" not in repr(d)]
    assert diff == []


def test_sqlite_uses_wal_and_busy_timeout(sqlite_url: str) -> None:
    with open_archive(sqlite_url) as arch, arch.session() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_older_schema_asks_for_upgrade(archive_url: str) -> None:
    with open_archive(archive_url) as arch, arch.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(SchemaOutdatedError, match="newer than this newsarchive"):
        open_archive(archive_url)


def test_upgrade_is_idempotent(archive: Archive) -> None:
    before, after = upgrade(archive)
    assert before == after == head_revision(archive.engine)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mysql://root@localhost/x", "unsupported database 'mysql'"),
        ("postgresql://x:y@[::1", "bad database URL"),
    ],
)
def test_bad_database_urls(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_archive(value)


def test_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(ArchiveError, match=r"cannot open archive .*5999"):
        open_archive("postgresql://postgres@127.0.0.1:5999/test")


def test_bare_path_means_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = resolve_db_url(str(tmp_path / "a.db"))
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(tmp_path / "a.db")


def test_reading_a_missing_sqlite_archive_creates_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "typo.db"
    with pytest.raises(ArchiveError, match="no archive at"):
        open_archive(str(missing), create=False)
    assert not missing.exists()


def test_archive_at_an_older_schema_asks_for_db_upgrade(
    archive_url: str, invoke: Callable[..., Result]
) -> None:
    from alembic import command

    from newsarchive.archive.db import alembic_config

    with open_archive(archive_url) as arch, arch.engine.begin() as conn:
        cfg = alembic_config(arch.engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    with pytest.raises(SchemaOutdatedError, match=r"schema 0001, .*run `newsarchive db upgrade"):
        open_archive(archive_url)

    result = invoke("db", "upgrade", "--db", archive_url)
    assert result.exit_code == 0, result.output
    assert f"0001 -> {head_revision(arch.engine)}" in result.output
    open_archive(archive_url).dispose()


def test_an_empty_database_read_without_create_releases_its_connections(
    archive_url: str,
) -> None:
    """Every refusal of open_archive closes what it opened: a long-lived caller (the web
    server, a worker retrying) would otherwise pile up pooled connections."""
    if "://" not in archive_url:
        Path(archive_url).touch()  # an empty file: SQLite opens it, finds no tables
    closed: list[object] = []

    def on_close(dbapi_conn: object, _record: object) -> None:
        closed.append(dbapi_conn)

    event.listen(Pool, "close", on_close)
    try:
        with pytest.raises(ArchiveError, match="no archive at"):
            open_archive(archive_url, create=False)
    finally:
        event.remove(Pool, "close", on_close)
    assert closed, "the refused archive's pooled connection was left open"


def test_archive_as_context_manager_disposes_its_engine(sqlite_url: str) -> None:
    with open_archive(sqlite_url) as arch, arch.session() as s:
        s.execute(text("SELECT 1"))
        pool = arch.engine.pool
        assert pool.checkedin() == 0  # the session holds it
    assert pool.checkedin() == 0
    assert arch.engine.pool is not pool  # dispose() swaps in a fresh, empty pool


def test_session_turns_every_sqlalchemy_error_into_an_archive_error(archive: Archive) -> None:
    """Not only driver errors: an ORM error inside a session is one line too, not a crash."""
    from newsarchive.archive.models import Source

    with pytest.raises(ArchiveError, match=r"^database error on .*: "), archive.session() as s:
        s.execute(select(Source).where(Source.id == 1)).scalar_one()  # NoResultFound
    with archive.session() as s:  # the session is usable again
        assert s.execute(text("SELECT 1")).scalar() == 1


def test_dialect_insert_speaks_the_backend(archive: Archive) -> None:
    from newsarchive.archive.models import Source

    with archive.session() as s:
        for _ in range(2):
            s.execute(
                dialect_insert(s, Source)
                .values(name="twice")
                .on_conflict_do_nothing(index_elements=["name"])
            )
        assert s.scalars(select(Source.name).where(Source.name == "twice")).all() == ["twice"]


def test_dialect_insert_names_match() -> None:
    """dialect_insert builds on the Table, and callers pass rows keyed by attribute names: a
    model whose attribute and column names differ would break them."""
    from newsarchive.archive.models import Base

    differ = [
        (mapper.class_.__name__, attr.key, column.name)
        for mapper in Base.registry.mappers
        for attr in mapper.column_attrs
        for column in attr.columns
        if attr.key != column.name
    ]
    assert differ == []


def test_dialect_insert_writes_rows_and_returns_ids(archive: Archive) -> None:
    """Many rows at once and a RETURNING id, as the writer uses them, on the Core statement."""
    from newsarchive.archive.models import Source

    with archive.session() as s:
        first = s.scalar(dialect_insert(s, Source).values(name="one").returning(Source.id))
        again = s.scalar(
            dialect_insert(s, Source)
            .values(name="one")
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(Source.id)
        )
        rows = [{"name": name} for name in ("two", "one", "three", "two")]
        s.execute(dialect_insert(s, Source).on_conflict_do_nothing(), rows)
        stored = s.scalars(select(Source.name).order_by(Source.id)).all()
    assert isinstance(first, int)
    assert again is None
    assert stored == ["one", "two", "three"]


def test_db_upgrade_refuses_an_archive_from_a_newer_version(
    archive_url: str, invoke: Callable[..., Result]
) -> None:
    """Regression: alembic's CommandError escaped as a 90-line traceback."""
    with open_archive(archive_url) as arch, arch.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    result = invoke("db", "upgrade", "--db", archive_url)
    assert result.exit_code == 2
    assert "newer than this newsarchive" in result.output
    assert "Traceback" not in result.output
