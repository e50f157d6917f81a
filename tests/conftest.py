"""Shared fixtures: real archives on SQLite and on PostgreSQL.

``archive_url`` is parametrised over both backends, so every archive test runs on both. Each
PostgreSQL test gets its own schema (selected through ``search_path`` in the URL) and drops it
afterwards. Where PostgreSQL is absent the PostgreSQL variants skip with the reason, except under
``CI=true``, where they fail: CI must prove both backends.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from click.testing import Result

    from newsarchive.archive import Archive
    from newsarchive.demo.server import LocalWeb

PG_DSN = os.environ.get("NEWSARCHIVE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("NEWSARCHIVE_TEST_REDIS", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _service_missing(what: str, why: str) -> None:
    message = f"{what} not reachable ({why})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


def _pg_admin_conn():  # type: ignore[no-untyped-def]
    import psycopg

    try:
        return psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _service_missing(f"PostgreSQL at {PG_DSN}", str(exc).strip().splitlines()[0])
        raise  # unreachable: skip/fail raise


def _pg_schema_url() -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _pg_admin_conn() as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_DSN}?options=-csearch_path%3D{schema}"
    finally:
        with _pg_admin_conn() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    yield from _pg_schema_url()


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """Like ``pg_url``, for the whole test session: an archive built once and shared."""
    yield from _pg_schema_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return str(tmp_path / "archive.db")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty archive URL on each backend in turn."""
    if request.param == "sqlite":
        return str(tmp_path / "archive.db")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def archive(archive_url: str) -> Iterator[Archive]:
    from newsarchive.archive import open_archive

    arch = open_archive(archive_url)
    try:
        yield arch
    finally:
        arch.dispose()


@pytest.fixture
def invoke() -> Callable[..., Result]:
    """Run ``newsarchive ARGS...`` in-process against real files and databases."""
    from click.testing import CliRunner

    from newsarchive.cli import cli

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args))

    return run


@pytest.fixture(scope="session")
def demo_web() -> Iterator[LocalWeb]:
    """The bundled demo web on loopback ports, started once: its pages are static, so every test
    that reads or crawls it can share the same servers."""
    from newsarchive import demo

    with demo.demo_web() as web:
        yield web


@pytest.fixture
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        _service_missing(f"Redis at {REDIS_URL}", str(exc))
    finally:
        client.close()
    return REDIS_URL
