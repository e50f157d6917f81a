"""Counts over a query's matches (facets, timeline, company coverage), date-ordered search and
statement time limits, on both backends, over rows written through the ORM."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text
from support.rows import add_article

from newsarchive.archive.coverage import CompanyNotFoundError, company_coverage, list_companies
from newsarchive.archive.facets import count_matches, facet_counts, timeline
from newsarchive.archive.limits import QueryTimeoutError, time_limit
from newsarchive.archive.search import SearchFilters, latest, search
from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from newsarchive.archive import Archive

ROWS = [
    # source, slug, published, lang, companies, title
    ("autodaily", "a1", "2024-04-01T10:00:00", "en", ["Renault", "Xiaomi"], "Renault meets Xiaomi"),
    ("autodaily", "a2", "2024-04-03T23:30:00", "en", ["Renault"], "Renault battery plant"),
    ("motorwire", "m1", "2024-04-08T08:00:00", "en-GB", ["Xiaomi"], "Xiaomi battery car"),
    ("motorwire", "m2", "2024-05-20T08:00:00", "en", ["BYD", "Renault"], "BYD and Renault battery"),
    ("autoitalia", "i1", "2024-05-21T08:00:00", "it", ["Renault"], "Renault e la batteria"),
]


@pytest.fixture
def filled(archive: Archive) -> Archive:
    with archive.session() as s:
        first = None
        for source, slug, published, lang, companies, title in ROWS:
            art = add_article(
                s, source, slug, title, f"{title}. Text about {slug} and the market.",
                published=published, lang=lang, companies=companies,
            )  # fmt: skip
            first = first or art.id
        add_article(
            s, "mirror", "copy", "Renault meets Xiaomi", "Renault meets Xiaomi. Mirrored.",
            published="2024-04-01T12:00:00", companies=["Renault", "Xiaomi"], copy_of=first,
        )  # fmt: skip
    return archive


def values(facet: list) -> dict[str, int]:  # type: ignore[type-arg]
    return {v.value: v.count for v in facet}


def test_facets_count_originals_under_the_query_and_filters(filled: Archive) -> None:
    with filled.session() as s:
        everything = facet_counts(s, None)
        assert everything.total == 5
        assert values(everything.sources) == {"autodaily": 2, "motorwire": 2, "autoitalia": 1}
        assert values(everything.companies)["Renault"] == 4
        assert "Renault Group" not in values(everything.companies)  # stored names only
        group = facet_counts(s, None, SearchFilters(company="Renault Group"))
        assert group.total == 4  # the group filter selects its brands
        assert [m.value for m in everything.months] == ["2024-04", "2024-05"]
        battery = facet_counts(s, "battery")
        assert battery.total == 3
        assert values(battery.languages) == {"en": 2, "en-GB": 1}
        english = facet_counts(s, "battery", SearchFilters(lang="en"))
        assert english.total == 3  # en matches en-GB
        copies = facet_counts(s, "Xiaomi", SearchFilters(include_duplicates=True))
        assert values(copies.sources) == {"autodaily": 1, "motorwire": 1, "mirror": 1}
        assert facet_counts(s, "Renault -Xiaomi").total == 3
        assert count_matches(s, "Renault", SearchFilters(company="byd")) == (1, True)


def test_timeline_buckets_fill_gaps_and_split_by_source(filled: Archive) -> None:
    with filled.session() as s:
        days = timeline(s, None, bucket="day")
        assert days.buckets[0].start == date(2024, 4, 1)
        assert days.buckets[-1].start == date(2024, 5, 21)
        assert len(days.buckets) == 51  # empty days included
        assert days.total == 5
        weeks = timeline(s, None, bucket="week", by_source=True)
        assert [b.start.weekday() for b in weeks.buckets] == [0] * len(weeks.buckets)
        assert (weeks.buckets[0].count, weeks.buckets[0].by_source) == (2, {"autodaily": 2})
        assert weeks.sources[:1] == ["autodaily"] or weeks.sources[:1] == ["motorwire"]
        months = timeline(s, "battery", bucket="month")
        assert [(b.start, b.end, b.count) for b in months.buckets] == [
            (date(2024, 4, 1), date(2024, 5, 1), 2),
            (date(2024, 5, 1), date(2024, 6, 1), 1),
        ]
        assert timeline(s, None).bucket == "day"  # ~7 weeks: days
        narrowed = timeline(s, None, SearchFilters.from_params(since="2024-03-25"), bucket="day")
        assert narrowed.buckets[0].start == date(2024, 3, 25)
        assert timeline(s, "nothingmatches").buckets == []
        with pytest.raises(ConfigError, match="unknown timeline bucket"):
            timeline(s, None, bucket="hour")


def test_company_coverage_and_co_mentions(filled: Archive) -> None:
    with filled.session() as s:
        renault = company_coverage(s, "renault")
        assert (renault.name, renault.articles) == ("Renault", 4)
        assert values(renault.co_mentions) == {"Xiaomi": 1, "BYD": 1}
        assert [h.title for h in renault.latest][:1] == ["Renault e la batteria"]
        assert renault.timeline.total == 4
        assert list_companies(s)[0].value == "Renault"
        with pytest.raises(CompanyNotFoundError):
            company_coverage(s, "Nobody Motors")


def test_search_by_date_and_latest(filled: Archive) -> None:
    with filled.session() as s:
        hits = search(s, "battery", order="date")
        assert [h.title for h in hits] == [
            "BYD and Renault battery", "Xiaomi battery car", "Renault battery plant",
        ]  # fmt: skip
        assert all(h.score == 0 for h in hits)
        assert "battery" in hits[0].snippet.lower()
        assert [h.title for h in search(s, "battery", order="date", limit=1, offset=1)] == [
            "Xiaomi battery car"
        ]
        newest = latest(s, SearchFilters(source="autodaily"))
        assert [h.title for h in newest] == ["Renault battery plant", "Renault meets Xiaomi"]
        with pytest.raises(ConfigError, match="unknown order"):
            search(s, "battery", order="popularity")


SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) "
    "SELECT count(*) FROM c"
)


def test_a_statement_over_the_time_limit_is_stopped(archive: Archive) -> None:
    with pytest.raises(QueryTimeoutError, match=r"longer than 0\.3 s"):  # noqa: SIM117
        with archive.session() as s, time_limit(s, 0.3):
            s.execute(text(SLOW))
    with archive.session() as s, time_limit(s, 5):
        assert s.scalar(text("SELECT 1")) == 1  # the connection is usable again
    with archive.session() as s:
        assert s.scalar(text("SELECT count(*) FROM articles")) == 0  # no limit outside
