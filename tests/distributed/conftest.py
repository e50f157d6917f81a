"""Fixtures for distributed crawls: a fresh job name, cleaned from Redis afterwards."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from newsarchive.run.scaleout import reset_job

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def job(redis_url: str) -> Iterator[str]:
    """A job name no other test uses; its keys are deleted whatever the test did."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        reset_job(redis_url, name, force=True)
