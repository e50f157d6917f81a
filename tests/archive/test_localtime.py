"""Bare-day filters and per-day counts use the publisher's calendar day, on both backends."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from support.rows import add_article

from newsarchive.archive.models import Article
from newsarchive.archive.reports import stats
from newsarchive.archive.search import SearchFilters, filter_clauses

if TYPE_CHECKING:
    from newsarchive.archive import Archive


@pytest.fixture
def ids(archive: Archive) -> dict[str, int]:
    """00:30 in Paris is the 1st there and the 30th of April in UTC; and three controls."""
    with archive.session() as s:
        rows = {
            # 2024-05-01T00:30+02:00
            "paris": add_article(
                s,
                "wire",
                "paris",
                "A",
                "one",
                published="2024-04-30T22:30:00",
                published_offset=120,
            ),
            # 2024-04-30T20:00-05:00 is 1 May 01:00 in UTC: the 30th for its readers
            "chicago": add_article(
                s,
                "wire",
                "chicago",
                "B",
                "two",
                published="2024-05-01T01:00:00",
                published_offset=-300,
            ),
            # no offset stated: its UTC day
            "utc": add_article(s, "wire", "utc", "C", "three", published="2024-04-30T23:30:00"),
            # no date at all: first seen, in UTC
            "seen": add_article(s, "wire", "seen", "D", "four", first_seen="2024-05-01T06:00:00"),
        }
        return {k: v.id for k, v in rows.items()}


def _found(archive: Archive, **params: str) -> set[int]:
    filters = SearchFilters.from_params(**params)
    with archive.session() as s:
        return set(s.scalars(select(Article.id).where(*filter_clauses(filters))))


def test_bare_days_filter_on_the_local_day(archive: Archive, ids: dict[str, int]) -> None:
    may_first = _found(archive, since="2024-05-01", until="2024-05-01")
    assert may_first == {ids["paris"], ids["seen"]}
    assert _found(archive, until="2024-04-30") == {ids["chicago"], ids["utc"]}
    assert _found(archive, since="2024-04-30", until="2024-04-30") == {ids["chicago"], ids["utc"]}


def test_datetime_filters_stay_instants(archive: Archive, ids: dict[str, int]) -> None:
    found = _found(archive, since="2024-05-01T00:00:00Z", until="2024-05-02T00:00:00Z")
    assert found == {ids["chicago"], ids["seen"]}


def test_stats_count_per_local_day(archive: Archive, ids: dict[str, int]) -> None:
    with archive.session() as s:
        report = stats(s, days=3, today=date(2024, 5, 1))
    assert dict(report.per_day) == {
        date(2024, 4, 29): 0,
        date(2024, 4, 30): 2,
        date(2024, 5, 1): 2,
    }
