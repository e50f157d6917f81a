"""Fixtures of the reliability suite: private servers that the tests may stop and restart."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .servers import PrivatePostgres

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this module alone (started once; tests may restart it)."""
    server = PrivatePostgres().init()
    try:
        yield server
    finally:
        server.destroy()
