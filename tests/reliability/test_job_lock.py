"""Item: the PostgreSQL job lock is keyed on the server, not on how its URL is spelled.

``localhost`` and ``127.0.0.1`` (or a DNS alias) name one server: two crawls of one job through
the two spellings must exclude each other, while another schema on the same server (another
archive) must not.
"""

from __future__ import annotations

import socket

import pytest

from newsarchive.archive import open_archive
from newsarchive.archive.locks import try_advisory_lock


def test_two_spellings_of_one_server_take_one_lock(pg_url: str) -> None:
    if "127.0.0.1" not in pg_url:
        pytest.skip("the test PostgreSQL URL does not name 127.0.0.1")
    try:
        socket.getaddrinfo("localhost", None)
    except OSError:
        pytest.skip("localhost does not resolve here")
    with (
        open_archive(pg_url) as numeric,
        open_archive(pg_url.replace("127.0.0.1", "localhost")) as named,
    ):
        held = try_advisory_lock(numeric, "nightly")
        assert held is not None
        try:
            assert try_advisory_lock(named, "nightly") is None, "a second spelling got the lock"
            other_job = try_advisory_lock(named, "hourly")
            assert other_job is not None
            other_job.release()
        finally:
            held.release()
        again = try_advisory_lock(named, "nightly")
        assert again is not None
        again.release()


def test_another_schema_is_another_archive(pg_url: str) -> None:
    from sqlalchemy import text

    base, _, _ = pg_url.partition("?")
    with open_archive(pg_url) as first:
        with first.engine.connect() as conn:
            conn.execute(text('CREATE SCHEMA IF NOT EXISTS "lock_other"'))
            conn.commit()
        try:
            with open_archive(f"{base}?options=-csearch_path%3Dlock_other") as second:
                held = try_advisory_lock(first, "nightly")
                assert held is not None
                try:
                    other = try_advisory_lock(second, "nightly")
                    assert other is not None, "two archives on one server blocked each other"
                    other.release()
                finally:
                    held.release()
        finally:
            with first.engine.connect() as conn:
                conn.execute(text('DROP SCHEMA IF EXISTS "lock_other" CASCADE'))
                conn.commit()
