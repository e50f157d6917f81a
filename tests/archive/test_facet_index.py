"""The in-memory facet index counts what the SQL statements count, on both backends: every
filter rule (language prefixes, the publisher's day, copies, company groups, topics), accents
and case in the exact check, and a stale index is never used."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import TYPE_CHECKING

import pytest
from support.rows import add_article
from support.statements import statements_run
from support.waiting import wait_until

from newsarchive.archive.facetindex import FacetIndexes, archive_version
from newsarchive.archive.facets import count_matches, overview
from newsarchive.archive.models import ArticleTopic
from newsarchive.archive.search import SearchFilters, search

if TYPE_CHECKING:
    from newsarchive.archive import Archive
    from newsarchive.archive.facetindex import FacetIndex

ROWS = [
    # source, slug, title, body, published, offset (minutes), lang, companies
    ("autodaily", "a1", "Renault battery plant", "The battery plant opens.", "2024-04-01T10:00:00",
     None, "en", ["Renault", "Xiaomi"]),
    ("autodaily", "a2", "Dacia electric", "La Dacia électrique arrive en città.",
     "2024-04-30T23:30:00", 120, "fr", ["Dacia"]),  # 1 May in Paris
    ("motorwire", "m1", "ÉLECTRIQUE news", "Une voiture ÉLECTRIQUE, CITTÀ.", "2024-05-01T01:00:00",
     -300, "fr-CA", ["Renault Group"]),  # 30 April for the publisher
    ("motorwire", "m2", "Electrique without accent", "electrique citta battery",
     "2024-05-20T08:00:00", 0, "EN-gb", ["BYD", "Renault"]),
    ("autoitalia", "i1", "Batteria", "La batteria della Škoda in città.", None, None, "it",
     ["Skoda"]),  # no published date: first seen counts
    ("autoitalia", "i2", "Senza lingua", "Battery recall without a language.",
     "2023-12-31T23:59:59.999999", None, None, []),
]  # fmt: skip


@pytest.fixture
def filled(archive: Archive) -> Archive:
    with archive.session() as s:
        ids = []
        for source, slug, title, body, published, offset, lang, companies in ROWS:
            art = add_article(
                s, source, slug, title, body, published=published, published_offset=offset,
                lang=lang, companies=companies, first_seen="2024-06-02T12:00:00",
            )  # fmt: skip
            ids.append(art.id)
        add_article(
            s, "mirror", "copy", "Renault battery plant", "The battery plant opens. Mirrored.",
            published="2024-04-01T12:00:00", companies=["Renault"], copy_of=ids[0],
        )  # fmt: skip
        s.add(ArticleTopic(article_id=ids[0], topic="batteries", score=3, terms=["battery"]))
        s.add(ArticleTopic(article_id=ids[3], topic="batteries", score=2, terms=["battery"]))
        s.add(ArticleTopic(article_id=ids[3], topic="ev", score=1, terms=["electrique"]))
    return archive


def built(archive: Archive) -> FacetIndex:
    return FacetIndexes(archive).build()


QUERIES = [None, "battery", "électrique", "electrique", "ÉLECTRIQUE", "città", "citta",
           "battery -recall", "bat*", "électri*", '"battery plant"', "renault OR dacia",
           "nothingmatches"]  # fmt: skip
FILTERS = [
    SearchFilters(),
    SearchFilters(include_duplicates=True),
    SearchFilters.from_params(lang="en"),
    SearchFilters.from_params(lang="FR"),
    SearchFilters.from_params(source="motorwire"),
    SearchFilters.from_params(source="nosuchsource"),
    SearchFilters.from_params(company="Renault Group"),  # the group selects its brands
    SearchFilters.from_params(company="skoda"),
    SearchFilters.from_params(topic="batteries"),
    SearchFilters.from_params(since="2024-05-01"),  # the publisher's day
    SearchFilters.from_params(until="2024-04-30"),
    SearchFilters.from_params(since="2024-05-01T00:30:00", until="2024-06-01T00:00:00+02:00"),
    SearchFilters.from_params(since="2024-01-01T00:00:00", include_duplicates=True),
    SearchFilters.from_params(until="9999-12-31"),
]


@pytest.mark.parametrize("share", [4, 1000])
@pytest.mark.parametrize("query", QUERIES)
def test_the_index_counts_what_sql_counts(
    filled: Archive, query: str | None, share: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also with the accent check over the filtered ids (share 1000: whenever a filter drops
    any match) instead of the whole match."""
    monkeypatch.setattr("newsarchive.archive.facets._BIND_SHARE", share)
    index = built(filled)
    with filled.session() as s:
        for filters in FILTERS:
            for by_source in (False, True):
                in_sql = overview(s, query, filters, by_source=by_source)
                indexed = overview(s, query, filters, by_source=by_source, index=index)
                assert indexed[0] == in_sql[0], (query, filters, by_source)
                assert indexed[1] == in_sql[1], (query, filters, by_source)
            assert count_matches(s, query, filters, index=index) == count_matches(s, query, filters)


def test_accents_and_case_in_the_exact_check(filled: Archive) -> None:
    if filled.backend != "sqlite":
        pytest.skip("the accent-exact check is SQLite's: FTS5 folds accents, 'simple' does not")
    index = built(filled)
    with filled.session() as s:
        everything = SearchFilters(include_duplicates=True)

        def total(query: str) -> int:
            facets, _ = overview(s, query, everything, index=index)
            assert facets.exact
            return facets.total

        assert total("électrique") == 2  # a2 and m1 (upper case), not the unaccented m2
        assert total("electrique") == 1  # m2 only: lower() leaves "É" and "é" as they are
        assert total("città") == 3  # a2, m1 (CITTÀ), i1; not m2's "citta"
        assert total("citta") == 1
        assert total("BATTERY") == 4  # a1, m2, i2 and the copy (i1 says "batteria")


def test_filters_follow_the_publishers_day_and_language_prefixes(filled: Archive) -> None:
    index = built(filled)
    with filled.session() as s:
        may = overview(s, None, SearchFilters.from_params(since="2024-05-01"), index=index)[0]
        assert may.total == 3  # a2 (1 May in Paris), m2, i1 (first seen in June); not m1
        assert {v.value for v in may.sources} == {"autodaily", "motorwire", "autoitalia"}
        english = overview(s, None, SearchFilters.from_params(lang="en"), index=index)[0]
        assert english.total == 2  # en and EN-gb
        unknown = {v.value: v.count for v in overview(s, None, index=index)[0].languages}
        assert unknown[""] == 1  # no language: counted as the empty value
        timeline = overview(s, None, bucket="day", index=index)[1]
        assert timeline.buckets[0].start == date(2023, 12, 31)  # UTC day, microseconds kept


def test_a_stale_index_is_not_used_and_is_rebuilt(filled: Archive) -> None:
    indexes = FacetIndexes(filled)
    old = indexes.build()
    with filled.session() as s:
        add_article(s, "autodaily", "new", "Battery news", "A new battery story.",
                    published="2024-05-02T08:00:00")  # fmt: skip
    with filled.session() as s:
        version = archive_version(s)
        assert version != old.version
        # an old index over a match that names a new article counts in SQL instead
        assert overview(s, "battery", index=old) == overview(s, "battery")
        assert count_matches(s, "battery", index=old) == count_matches(s, "battery")
        assert indexes.current(version) is None  # starts a rebuild in the background
    wait_until(lambda: indexes.current(version) is not None, 30, "the facet index rebuild")
    fresh = indexes.current(version)
    assert fresh is not None
    assert fresh.size == old.size + 1
    with filled.session() as s:
        assert overview(s, "battery", index=fresh) == overview(s, "battery")


def test_an_empty_archive_has_an_empty_index(archive: Archive) -> None:
    index = built(archive)
    assert index.size == 0
    with archive.session() as s:
        facets, timeline = overview(s, None, index=index)
        assert dataclasses.astuple(facets)[:2] == (0, True)
        assert timeline.buckets == []
        assert overview(s, "battery", index=index) == overview(s, "battery")


@pytest.mark.parametrize("cap", [1, 2, 1000])
def test_filtered_search_finds_the_same_candidates_on_the_index(
    filled: Archive, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    """With more matches than the rank cap, a filtered search takes its newest passing
    candidates from the index instead of walking the filter's rows: the same hits, in order."""
    monkeypatch.setattr("newsarchive.archive.search.RANK_CANDIDATES", cap)
    index = built(filled)
    with filled.session() as s:
        for query in ("battery", "battery OR électrique", "bat*", "electrique OR citta"):
            for filters in FILTERS:
                plain = search(s, query, filters, limit=3)
                assert search(s, query, filters, limit=3, index=index) == plain, (query, filters)


@pytest.mark.parametrize("offset", [0, 2])
def test_date_order_on_the_index_is_the_sql_order(filled: Archive, offset: int) -> None:
    """On SQLite the index puts the matches in date order (newest first, then the newest id):
    the same page as the SQL sort, ties, copies and missing publication dates included."""
    with filled.session() as s:
        add_article(
            s, "motorwire", "tie", "Battery tie", "Same time as m2: battery.",
            published="2024-05-20T08:00:00", lang="en",
        )  # fmt: skip
    index = built(filled)
    with filled.session() as s:
        for query in QUERIES[1:]:
            for filters in FILTERS:
                plain = search(s, query, filters, limit=3, offset=offset, order="date")
                on_index = search(
                    s, query, filters, limit=3, offset=offset, order="date", index=index
                )
                assert on_index == plain, (query, filters)
        assert [h.title for h in search(s, "battery", order="date", index=index)][:2] == [
            "Battery tie",
            "Electrique without accent",
        ]


def test_match_ids_are_read_once_per_transaction(filled: Archive) -> None:
    """A page's counts and its filtered candidates share one read of the match's ids; the next
    transaction reads them again (and sees what was stored meanwhile)."""
    if filled.backend != "sqlite":
        pytest.skip("FTS5 match ids")
    from newsarchive.archive.facetindex import fts5_ids

    with filled.session() as s:
        first = fts5_ids(s, "battery")
        assert fts5_ids(s, "battery") is first
        assert len(first) == 4
        assert list(first) == sorted(first)
        fts5_ids(s, "plant")
        fts5_ids(s, "recall")  # two queries are kept: "battery" was the oldest
        assert fts5_ids(s, "battery") is not first
    with filled.session() as s:
        add_article(s, "autodaily", "new", "Battery news", "A battery.")
    with filled.session() as s:
        assert len(fts5_ids(s, "battery")) == 5


@pytest.mark.parametrize("cap", [2, 1000])
def test_the_newest_matches_from_the_counts_read_rank_the_same_hits(
    filled: Archive, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    """A search whose counts already read the match's ids (a page, the API) takes its newest
    candidates from them: the same hits, scores and snippets as a search that asks FTS5."""
    monkeypatch.setattr("newsarchive.archive.search.RANK_CANDIDATES", cap)
    index = built(filled)
    for query in ("battery", "electrique", "bat*", "renault OR dacia", '"battery plant"'):
        for filters in (SearchFilters(), SearchFilters.from_params(lang="en")):
            with filled.session() as s:
                plain = search(s, query, filters, limit=3)
            with filled.session() as s:
                count_matches(s, query, filters, index=index)  # reads the ids
                assert search(s, query, filters, limit=3, index=index) == plain, (query, filters)


def test_a_prefix_search_takes_its_newest_matches_from_the_counts_read(filled: Archive) -> None:
    """Counts spell a prefix as search does (the index's words it starts), so a prefix search
    after its counts reads no match ids of its own; FTS5 would otherwise merge the prefix's
    doclists a second time."""
    if filled.backend != "sqlite":
        pytest.skip("FTS5 match ids")
    index = built(filled)
    with filled.session() as s:
        count_matches(s, "bat*", SearchFilters(), index=index)  # reads the ids
        with statements_run(filled.engine) as statements:
            hits = search(s, "bat*", SearchFilters(), limit=3, index=index)
    assert hits
    assert not [q for q in statements if "ORDER BY rowid DESC" in q], statements


def test_only_accented_candidates_are_read_for_the_accent_check(filled: Archive) -> None:
    """For ASCII words the counts' accent-exact check reads the bodies of the candidates in
    ``accented_articles`` only: none, no statement; the check still drops an accented
    article's folded match ("electrique" in a2 and m1 is "électrique")."""
    if filled.backend != "sqlite":
        pytest.skip("the accent-exact check is SQLite's")
    index = built(filled)
    with statements_run(filled.engine) as statements, filled.session() as s:
        assert count_matches(s, "plant", index=index) == (1, True)  # a1: not accented
        assert not any("LIKE" in st for st in statements)
        assert count_matches(s, "electrique", index=index) == (1, True)  # m2 only
        assert any("LIKE" in st for st in statements)
