from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select
from support.rows import add_article, utc
from support.statements import statements_run

from newsarchive.archive import open_archive
from newsarchive.archive.limits import QueryTimeoutError, time_limit
from newsarchive.archive.models import Article
from newsarchive.archive.search import (
    SearchFilters,
    bm25_ranked,
    iter_matching_ids,
    parse_date_filter,
    search,
)
from newsarchive.archive.searchquery import matches, parse_query, to_fts5
from newsarchive.errors import ConfigError, QuerySyntaxError

if TYPE_CHECKING:
    from pathlib import Path

    from newsarchive.archive import Archive


CORPUS = {
    "recall": {
        "source": "autoblog",
        "title": "Tesla recalls Model 3 over battery fault",
        "body": "Tesla is recalling 40,000 cars. The battery pack may overheat, the company said.",
        "published": "2024-05-01T09:00:00",
        "companies": ("Tesla",),
    },
    "melfi": {
        "source": "motori",
        "title": "Stellantis apre una nuova fabbrica a Melfi",
        "body": "La città di Melfi accoglie la fabbrica: auto elettriche e batterie, perché il "
        "mercato cresce.",
        "published": "2024-05-10T08:00:00",
        "lang": "it",
        "companies": ("Stellantis",),
    },
    "citta": {
        "source": "motori",
        "title": "Traffico in citta",
        "body": "Nuove regole per la citta e le auto elettriche nel centro storico.",
        "published": "2024-05-12T08:00:00",
        "lang": "it",
    },
    "zoe": {
        "source": "auto-plus",
        "title": "Renault présente la nouvelle Zoé électrique",
        "body": "L'économie d'énergie est au cœur de la Zoé. Élan commercial pour Renault en 2024.",
        "first_seen": "2024-06-01T12:00:00",
        "lang": "fr-FR",
        "companies": ("Renault",),
    },
    "etron": {
        "source": "autoblog",
        "title": "Audi e-tron GT review",
        "body": "The e-tron GT is quick. Solid state battery packs are still years away for Audi.",
        "published": "2024-04-20T10:00:00",
        "lang": "en-GB",
        "companies": ("Audi",),
    },
    "bodyonly": {
        "source": "autoblog",
        "title": "Weekly news roundup",
        "body": "Among other things, a battery story and a recall of trucks in Ohio.",
        "published": "2024-05-03T10:00:00",
    },
}


@pytest.fixture
def corpus(archive: Archive) -> dict[str, int]:
    ids: dict[str, int] = {}
    with archive.session() as s:
        for slug, fields in CORPUS.items():
            ids[slug] = add_article(s, slug=slug, **fields).id  # type: ignore[arg-type]
        ids["recall-copy"] = add_article(
            s,
            "mirror",
            "recall-copy",
            CORPUS["recall"]["title"],  # type: ignore[arg-type]
            CORPUS["recall"]["body"],  # type: ignore[arg-type]
            published="2024-05-01T11:00:00",
            copy_of=ids["recall"],
        ).id
    return ids


def _found(archive: Archive, query: str, **filters: object) -> set[int]:
    with archive.session() as s:
        return {h.id for h in search(s, query, SearchFilters(**filters), limit=100)}  # type: ignore[arg-type]


def _ids(corpus: dict[str, int], *names: str) -> set[int]:
    return {corpus[n] for n in names}


# The same expectations are checked on SQLite and PostgreSQL (the archive fixture runs both).
SAME_ON_BOTH = [
    ("battery", ["recall", "etron", "bodyonly"]),
    ("Battery RECALL", ["bodyonly"]),
    ("battery AND Recalls", ["recall"]),
    ('"battery pack"', ["recall"]),
    ("packs", ["etron"]),
    ('"pack battery"', []),
    ("tesla OR audi", ["recall", "etron"]),
    ("battery tesla OR audi", ["recall", "etron"]),
    ("battery -tesla", ["etron", "bodyonly"]),
    ('battery -"solid state"', ["recall", "bodyonly"]),
    ("recall*", ["recall", "bodyonly"]),
    ("elettr*", ["melfi", "citta"]),
    ("e-tron", ["etron"]),
    ("città", ["melfi"]),
    ("CITTÀ", ["melfi"]),
    ("citta", ["citta"]),
    ("perché", ["melfi"]),
    ("perche", []),
    ("économie", ["zoe"]),
    ("economie", []),
    ("élan", ["zoe"]),
    ("zoé électrique", ["zoe"]),
    ("zoe", []),
    ("l'économie", ["zoe"]),
    ("auto -città", ["citta"]),
    ("weekly battery", ["bodyonly"]),
    ('"roundup among"', []),
    ("nothingmatcheshere", []),
]


def test_same_matches_on_both_backends(archive: Archive, corpus: dict[str, int]) -> None:
    wrong = {}
    for query, expected in SAME_ON_BOTH:
        with archive.session() as s:
            ranked = {h.id for h in search(s, query, SearchFilters(), limit=100)}
            unranked = set(iter_matching_ids(s, query, SearchFilters()))
        if not ranked == unranked == _ids(corpus, *expected):
            wrong[query] = (ranked, unranked, _ids(corpus, *expected))
    assert wrong == {}


def test_title_matches_rank_first_and_snippets_highlight(
    archive: Archive, corpus: dict[str, int]
) -> None:
    with archive.session() as s:
        hits = search(s, "recall*", SearchFilters())
    assert [h.id for h in hits] == [corpus["recall"], corpus["bodyonly"]]
    assert hits[0].score > hits[1].score
    assert "[recalling]" in hits[0].snippet
    assert "[recall]" in hits[1].snippet
    assert len(hits[1].snippet) < 300
    top = hits[0]
    assert (top.source, top.title, top.lang) == ("autoblog", CORPUS["recall"]["title"], "en")
    assert top.published == utc("2024-05-01T09:00:00")
    assert top.url == top.canonical_url == "https://autoblog.example/recall"


def test_duplicates_hidden_and_counted_by_default(archive: Archive, corpus: dict[str, int]) -> None:
    with archive.session() as s:
        default = search(s, "tesla", SearchFilters())
        everything = search(s, "tesla", SearchFilters(include_duplicates=True))
    assert [(h.id, h.duplicate_count, h.duplicate_of) for h in default] == [
        (corpus["recall"], 1, None)
    ]
    by_id = {h.id: h for h in everything}
    assert set(by_id) == _ids(corpus, "recall", "recall-copy")
    assert by_id[corpus["recall-copy"]].duplicate_of == corpus["recall"]
    assert by_id[corpus["recall-copy"]].source == "mirror"


def test_filters(archive: Archive, corpus: dict[str, int]) -> None:
    assert _found(archive, "battery", source="autoblog") == _ids(
        corpus, "recall", "etron", "bodyonly"
    )
    assert _found(archive, "auto", source="motori") == _ids(corpus, "melfi", "citta")
    assert _found(archive, "battery", lang="en") == _ids(corpus, "recall", "etron", "bodyonly")
    assert _found(archive, "battery", lang="en-gb") == _ids(corpus, "etron")
    assert _found(archive, "battery", company="tesla") == _ids(corpus, "recall")
    assert _found(archive, "battery", company="Audi") == _ids(corpus, "etron")
    may = {"since": utc("2024-05-01T00:00:00"), "until": utc("2024-05-02T00:00:00")}
    assert _found(archive, "battery", **may) == _ids(corpus, "recall")
    assert _found(archive, "battery", include_duplicates=True, **may) == _ids(
        corpus, "recall", "recall-copy"
    )
    # no published date: the first-seen date stands in
    assert _found(archive, "renault", since=utc("2024-06-01T00:00:00")) == _ids(corpus, "zoe")
    assert _found(archive, "renault", until=utc("2024-06-01T00:00:00")) == set()


def test_paging_walks_the_ranked_list(archive: Archive, corpus: dict[str, int]) -> None:
    with archive.session() as s:
        full = [h.id for h in search(s, "battery OR auto", SearchFilters(), limit=50)]
        pages = [
            h.id
            for off in range(0, len(full), 2)
            for h in search(s, "battery OR auto", SearchFilters(), limit=2, offset=off)
        ]
    assert len(full) == 5
    assert pages == full


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE articles; --",
        "title:zzyzx",
        'zzyzx" OR "tesla',
        "NEAR(zzyzx battery)",
        "zzyzx) OR (1=1",
        "{title body}: zzyzx",
        "zzyzx\\' || 'tesla",
        "^zzyzx",
        "zzyzx:A | !!tesla & battery",
        "zzyzx AND NOT tesla",
    ],
)
def test_injection_through_the_query_has_no_effect(
    archive: Archive, corpus: dict[str, int], query: str
) -> None:
    assert _found(archive, query) == set()
    with archive.session() as s:
        assert s.scalar(select(func.count()).select_from(Article)) == len(corpus)


@pytest.mark.parametrize("field", ["source", "lang", "company"], ids=["source", "lang", "company"])
def test_injection_through_filters_has_no_effect(
    archive: Archive, corpus: dict[str, int], field: str
) -> None:
    for evil in ["x' OR '1'='1", "autoblog'; DROP TABLE articles; --", "%", "_n"]:
        assert _found(archive, "battery", **{field: evil}) == set()
    with archive.session() as s:
        assert s.scalar(select(func.count()).select_from(Article)) == len(corpus)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "empty query"),
        ("   ", "empty query"),
        ("& -", "no letters or digits"),
        ('"battery pack', 'the " at position 1 is never closed'),
        ('tesla "battery', 'the " at position 7 is never closed'),
        ("tesla OR", "OR at position 7 has no term after it"),
        ("OR tesla", "OR at position 1 has no term before it"),
        ("tesla OR OR byd", "OR at position 10 follows another OR"),
        ("-tesla", "only excluded terms"),
        ('-tesla -"model 3"', "only excluded terms"),
        ("tesla OR -byd", "excluded term (position 10) cannot be part of OR"),
        ("e*", "too short"),
        ("e-tr*", "needs a plain word"),
        ('"battery pack"*', "must follow a word"),
    ],
)
def test_bad_syntax_is_a_clear_error(query: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_query(query)


def test_bad_syntax_raised_by_search(archive: Archive) -> None:
    with archive.session() as s, pytest.raises(QuerySyntaxError):
        search(s, "tesla OR", SearchFilters())


def test_fts5_rendering_quotes_every_token() -> None:
    assert to_fts5(parse_query('tesla OR "model 3" -recall batt*')) == (
        '(("tesla" OR "model 3") AND "batt"*) NOT "recall"'
    )
    rendered = to_fts5(parse_query('title:x "a""b" NEAR(c)'))
    assert rendered == '"title x" AND "a" AND "b" AND "near c"'


def test_checker_rules() -> None:
    q = parse_query('"solid state" -recall')
    assert matches(q, "Solid State", "news")
    assert not matches(q, "Solid", "state of things")  # phrases do not span title and body
    assert not matches(q, "Solid state", "a RECALL")
    assert matches(parse_query("città"), None, "La CITTÀ")
    assert not matches(parse_query("città"), None, "La citta")


def test_date_filter_parsing() -> None:
    assert parse_date_filter("2024-05-31") == utc("2024-05-31T00:00:00")
    assert parse_date_filter("2024-05-31", end=True) == utc("2024-06-01T00:00:00")
    assert parse_date_filter("2024-05-31T10:00:00+02:00") == utc("2024-05-31T08:00:00")
    assert parse_date_filter("2024-05-31T10:00:00Z") == utc("2024-05-31T10:00:00")
    with pytest.raises(ConfigError, match="bad date"):
        parse_date_filter("yesterday")


def test_sqlite_keeps_filters_out_of_the_fts5_plan(
    archive: Archive, corpus: dict[str, int]
) -> None:
    if archive.backend != "sqlite":
        pytest.skip("FTS5 plan")
    from sqlalchemy import event

    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "articles_fts MATCH" in statement:
            seen.append((statement, parameters))

    event.listen(archive.engine, "before_cursor_execute", capture)
    try:
        may = SearchFilters(since=utc("2024-05-01T00:00:00"), until=utc("2024-05-02T00:00:00"))
        with archive.session() as s:
            assert [h.id for h in search(s, "battery", may)] == [corpus["recall"]]
            plans = {
                statement: [
                    row[-1]
                    for row in s.connection().exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + statement,
                        params,  # type: ignore[arg-type]
                    )
                ]
                for statement, params in list(seen)
            }
    finally:
        event.remove(archive.engine, "before_cursor_execute", capture)
    # the newest matches and the snippets read FTS5 alone (MATCH and ids): no join, no filter
    assert len(plans) >= 2, plans
    for statement, plan in plans.items():
        assert all("articles_fts" in step or "B-TREE" in step or "LIST" in step for step in plan), (
            statement,
            plan,
        )
        assert any("VIRTUAL TABLE INDEX" in step for step in plan), plan
        assert " join " not in statement.lower()


def _stories(archive: Archive) -> dict[str, int]:
    """Seven battery stories stored oldest first: the title match is the oldest (lowest id)."""
    ids: dict[str, int] = {}
    with archive.session() as s:
        ids["titled"] = add_article(
            s,
            "wire",
            "titled",
            "Battery battery battery battery",
            "Battery battery battery battery.",
        ).id
        for k in range(5):
            source = "wire" if k % 2 else "daily"
            body = "Battery news. " + " ".join(["battery"] * (k + 1)) + " and other words here."
            ids[f"plain{k}"] = add_article(s, source, f"plain{k}", f"Plain {k}", body).id
        ids["newest"] = add_article(
            s, "daily", "newest", "Battery battery battery", "Battery plant, battery jobs: battery."
        ).id
    return ids


def test_relevance_ranks_the_newest_candidates_when_many_match(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the cap, the best of the newest matches wins, not the best of all of them."""
    ids = _stories(archive)
    with archive.session() as s:
        assert search(s, "battery", SearchFilters(), limit=1)[0].id == ids["titled"]
        monkeypatch.setattr("newsarchive.archive.search.RANK_CANDIDATES", 3)
        assert search(s, "battery", SearchFilters(), limit=1)[0].id == ids["newest"]
        # a page deeper than the cap widens it: paging still walks one ranked list
        assert {h.id for h in search(s, "battery", SearchFilters(), limit=7)} == set(ids.values())


def test_relevance_with_a_filter_ranks_the_newest_passing_candidates(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _stories(archive)
    monkeypatch.setattr("newsarchive.archive.search.RANK_CANDIDATES", 2)
    with archive.session() as s:
        wire = search(s, "battery", SearchFilters(source="wire"), limit=1)
        daily = search(s, "battery", SearchFilters(source="daily"), limit=1)
        # wire's newest two are plain1 and plain3: the one saying battery more often wins
        assert [h.id for h in wire] == [ids["plain3"]]
        assert [h.id for h in daily] == [ids["newest"]]
        assert wire[0].source == "wire"
        assert "[battery]" in wire[0].snippet.lower()


def _supply_stories(archive: Archive) -> dict[str, int]:
    """Five stories oldest first: the best "supply chain" match is the oldest; the newest has
    "supply" ending its title and "chain" starting its body (PostgreSQL's tsvector joins the
    two, the exact rules do not)."""
    stories = [
        ("best", "Supply chain strain", "The supply chain, the supply chain: supply chain."),
        ("apart", "Markets", "Supply is up and the chain of stores grew."),
        ("news", "Weekly notes", "Supply chain news here."),
        ("notes", "Daily notes", "Supply chain notes here."),
        ("span", "Global supply", "Chain stores reopen here."),
    ]
    with archive.session() as s:
        return {slug: add_article(s, "wire", slug, title, body).id for slug, title, body in stories}


def test_a_phrase_ranks_its_candidates_in_recency_tiers(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A phrase's matches among the newest PHRASE_WINDOW articles rank before older ones (on
    PostgreSQL a page they fill reads no older tier); pages still fill from the older tiers,
    also past candidates the exact rules refuse, and paging walks one list."""
    ids = _supply_stories(archive)
    phrase = '"supply chain"'
    with archive.session() as s:
        # one tier (the window holds the archive): the best match first, as for any query
        assert [h.id for h in search(s, phrase, limit=3)] == [
            ids["best"],
            ids["news"],
            ids["notes"],
        ]
        monkeypatch.setattr("newsarchive.archive.search.PHRASE_WINDOW", 3)
        # the newest three articles are a tier: their two matches first, then the older one
        assert [h.id for h in search(s, phrase, limit=3)] == [
            ids["news"],
            ids["notes"],
            ids["best"],
        ]
        assert [h.id for h in search(s, phrase, limit=2)] == [ids["news"], ids["notes"]]
        assert [h.id for h in search(s, phrase, limit=1, offset=2)] == [ids["best"]]
        assert [h.id for h in search(s, phrase, limit=5, offset=1)] == [ids["notes"], ids["best"]]
        filtered = search(s, phrase, SearchFilters(source="wire"), limit=3)
        assert [h.id for h in filtered] == [ids["news"], ids["notes"], ids["best"]]
        # words are not tiered: the best match of all the newest candidates first
        assert search(s, "supply chain", limit=1)[0].id == ids["best"]


@pytest.mark.postgres
def test_a_phrase_page_the_newest_tier_fills_reads_no_older_tier(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = open_archive(pg_url)
    try:
        ids = _supply_stories(archive)
        monkeypatch.setattr("newsarchive.archive.search.PHRASE_WINDOW", 3)
        with statements_run(archive.engine, "ts_rank_cd") as tiers_read, archive.session() as s:
            assert [h.id for h in search(s, '"supply chain"', limit=2)] == [
                ids["news"],
                ids["notes"],
            ]
            assert len(tiers_read) == 1
            assert len(search(s, '"supply chain"', limit=3)) == 3
            assert len(tiers_read) == 3
    finally:
        archive.dispose()


def test_phrase_tiers_grow_from_the_newest_id(monkeypatch: pytest.MonkeyPatch) -> None:
    from newsarchive.archive.search import in_tiers, phrase_tiers

    monkeypatch.setattr("newsarchive.archive.search.PHRASE_WINDOW", 10)
    assert phrase_tiers(None) == []
    assert phrase_tiers(10) == [(None, None)]
    assert phrase_tiers(100) == [(90, None), (50, 90), (None, 50)]
    ranked = [(40, -3.0), (95, -2.0), (60, -1.5), (91, -1.0), (90, -0.5)]
    assert in_tiers(ranked, phrase_tiers(100)) == [
        (95, -2.0),
        (91, -1.0),
        (60, -1.5),
        (90, -0.5),
        (40, -3.0),
    ]


def test_term_patterns_count_words_phrases_and_prefixes() -> None:
    from newsarchive.archive.search import _term_pattern

    word, phrase, prefix = (
        _term_pattern(t) for t in parse_query('tron "e tron" batter*').positive_terms()
    )
    text = "the e-tron, electron and e tron gt; batteries, battery."
    assert len(word.findall(text)) == 2
    assert len(phrase.findall(text)) == 2
    assert len(prefix.findall(text)) == 2
    # a letter, digit or accented letter before or after is part of the word; "_" is not
    glued = "tron2 2tron étron tronà _tron_ tron-tron e_tron tron"
    assert word.findall(glued) == ["tron"] * 5
    assert len(phrase.findall(glued)) == 1
    assert prefix.findall("abatteries battery2 _batteries") == ["battery2", "batteries"]


def test_term_patterns_count_as_whole_words_do() -> None:
    """The patterns count what a word-by-word reading counts (their look-behind sits after the
    first word, so that the engine can search for that word directly)."""
    import random
    import re

    from newsarchive.archive.search import _term_pattern

    rng = random.Random(5)
    pieces = ["ab", "a", "b", "é", "1", "_", " ", "-", "ba", "İ".lower()]
    for query in ("ab", '"ab ab"', '"a b"', "ab*", '"b ab*"', "é"):
        (term,) = parse_query(query).positive_terms()
        pattern = _term_pattern(term)
        for _ in range(2000):
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
            words = [(m.start(), m.group()) for m in re.finditer(r"[^\W_]+", text)]
            expected, k = 0, 0
            n = len(term.tokens)
            while k + n <= len(words):
                run = [w for _, w in words[k : k + n]]
                last_ok = (
                    run[-1].startswith(term.tokens[-1])
                    if term.prefix
                    else run[-1] == term.tokens[-1]
                )
                if run[:-1] == list(term.tokens[:-1]) and last_ok:
                    expected, k = expected + 1, k + n
                else:
                    k += 1
            assert len(pattern.findall(text)) == expected, (query, text)


def test_snippet_marks_what_the_checker_matches() -> None:
    from newsarchive.archive.searchquery import snippet

    body = "Tesla is recalling cars. " + "Filler words go here. " * 20 + "A recall of trucks."
    text = snippet(parse_query("recall*"), body)
    assert text.startswith("Tesla is [recalling] cars.")
    assert text.endswith("A [recall] of trucks.")
    assert " … " in text
    assert snippet(parse_query('"battery pack"'), "The Battery pack, a battery.", ("<", ">")) == (
        "The <Battery> <pack>, a <battery>."
    )
    assert snippet(parse_query("absent"), "No match here.") == "No match here."
    assert snippet(parse_query("absent"), "") == ""


def _pages(archive: Archive) -> list[list[object]]:
    queries = [
        ("battery", SearchFilters()),
        ("batt*", SearchFilters()),
        ("battery", SearchFilters(source="wire")),
    ]
    with archive.session() as s:
        return [
            [(h.id, h.snippet, h.score) for h in search(s, q, f, limit=4, offset=offset)]
            for q, f in queries
            for offset in (0, 3)
        ]


def test_snippets_are_the_same_from_an_id_range_or_per_id(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite cuts a page's snippets in one FTS5 pass over its ids' range, or, for ids far
    apart, with the ids handed to FTS5; a prefix is spelled as its words or left to FTS5: the
    snippets and hits are the same either way."""
    if archive.backend != "sqlite":
        pytest.skip("FTS5 snippets")
    with archive.session() as s:
        for k in range(40):
            words = " ".join(["battery", "batteries", "filler", "words"][: k % 4 + 1] * (k % 5 + 1))
            source = "wire" if k % 3 else "daily"
            add_article(s, source, f"story{k}", f"Story {k}", f"Some {words}. " + "Other. " * k)
    monkeypatch.setattr("newsarchive.archive.search.RANK_CANDIDATES", 12)
    with statements_run(archive.engine, "snippet(") as statements:
        ranged = _pages(archive)
        assert all("BETWEEN" in st for st in statements), statements
        statements.clear()
        monkeypatch.setattr("newsarchive.archive.search._SNIPPET_SCAN_SPAN", 0)
        per_id = _pages(archive)
        # a prefix is searched as the words it starts ("batteries", "battery"): ids go to FTS5
        assert not any("BETWEEN" in st for st in statements), statements
        statements.clear()
        monkeypatch.setattr("newsarchive.archive.search.PREFIX_WORDS", 1)
        merged = _pages(archive)
        # a prefix left to FTS5 keeps the range: FTS5 would merge its words' doclists per id
        assert ["BETWEEN" in st for st in statements] == [False, False, True, True, False, False]
    assert ranged == per_id == merged
    assert all(page for page in ranged)
    assert all("[" in snippet for page in ranged for _, snippet, _ in page)  # type: ignore[misc]


def test_words_lower_each_word_as_the_index_does() -> None:
    """Whole-text lower-casing is used where it gives the same words as word-by-word: final
    sigma depends on the letters around it, and İ lower-cases to i plus a combining dot."""
    from newsarchive.archive.searchquery import words

    assert words("Tesla's e-Tron, ÉLAN_2024") == ["tesla", "s", "e", "tron", "élan", "2024"]
    assert words("ΟΔΟΣ'Α ΣΑ") == ["οδος", "α", "σα"]  # each word ends where its sigma does
    assert words("İSTANBUL") == ["i\u0307stanbul"]  # one word, though the dot is no letter
    assert words("Cafe\u0301") == ["café"]  # composed first, as the index reads it


def test_relevance_weighs_terms_by_their_share_of_the_candidates(archive: Archive) -> None:
    """BM25 over the candidates (SQLite) and ts_rank_cd (PostgreSQL) agree on plain cases: a
    title match first, then more mentions; ties by id, the same every time. On SQLite a longer
    body ranks below a shorter one saying as much, and a term's IDF is taken from the
    candidates: under OR, the article with the rarer of two terms (once each, same length)
    ranks above those with the common term."""
    with archive.session() as s:
        ids = {
            name: add_article(s, "wire", name, title, body).id
            for name, title, body in [
                ("once", "Plain", "A turbine here and filler words around it."),
                ("twice", "Plain", "A turbine here, a turbine there, filler words."),
                ("titled", "Turbine news", "A turbine here and filler words around it."),
                ("long", "Plain", "A turbine here and " + "many more filler words " * 10),
                ("same", "Plain", "A turbine here and filler words around it."),
            ]
        }
        for k in range(3):
            add_article(s, "wire", f"gear{k}", "Plain", "A gearbox here and filler words round.")
        add_article(s, "wire", "rotor", "Plain", "A rotor here and filler words around it.")
        ranked = [h.id for h in search(s, "turbine", SearchFilters())]
        assert ranked[:3] == [ids["titled"], ids["twice"], ids["once"]]
        assert ranked == [h.id for h in search(s, "turbine", SearchFilters())]
        if archive.backend == "sqlite":
            assert ranked[3:] == [ids["same"], ids["long"]]
            either = search(s, "rotor OR gearbox", SearchFilters(), limit=2)
            assert [h.title for h in either] == ["Plain", "Plain"]
            assert "[rotor]" in either[0].snippet
            assert either[0].score > either[1].score > 0


def test_a_filtered_ranking_takes_the_newest_exact_matches(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the cap and under a filter, the candidates are the newest passing articles that
    match by the exact rules: on SQLite an article FTS5 matches only by folding an accent
    ("citta" for "città") no longer takes a candidate's place, so the older title match is
    ranked; PostgreSQL's index keeps accents and ranks the same two."""
    with archive.session() as s:
        titled = add_article(s, "wire", "titled", "Città nuova", "La città cresce.").id
        plain = add_article(s, "wire", "plain", "Notizie", "Una città e un porto.").id
        add_article(s, "wire", "folded", "Notizie", "Una citta senza accento.")
        add_article(s, "daily", "other", "Città", "La città altrove.")
        monkeypatch.setattr("newsarchive.archive.search.RANK_CANDIDATES", 2)
        hits = search(s, "città", SearchFilters(source="wire"), limit=1)
        assert [h.id for h in hits] == [titled]
        assert [h.id for h in search(s, "città", SearchFilters(source="wire"), limit=5)] == [
            titled,
            plain,
        ]


def test_a_prefix_is_searched_as_the_index_words_it_starts(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite spells an ASCII prefix as every index word it starts (FTS5's folded words, so
    "Électrique" gives "electrique"), in order, one seek per word; a deleted article's word is
    gone; over ``PREFIX_WORDS`` words, or a prefix with other letters, FTS5 merges as before.
    Hits and snippets are the same either way, on both backends."""
    from newsarchive.archive.search import fts5_query, prefix_words

    bodies = [
        "Electric cars and an electrical grid.",
        "The electron microscope.",
        "Électrique, la voiture.",
        "An elect official, electricity bills.",
        "Électricité chère, électrique aussi.",
    ]
    with archive.session() as s:
        for k, body in enumerate(bodies):
            add_article(s, "wire", f"e{k}", f"Story {k}", body)
        gone = add_article(s, "wire", "gone", "Gone", "An electroz word.")
        s.delete(gone)
        s.flush()
        queries = ["electr*", "électr*", "electr* OR elect", "elect* -electron", "zzq*"]
        before = {q: [(h.id, h.snippet, h.score) for h in search(s, q)] for q in queries}
        if archive.backend == "sqlite":
            assert prefix_words(s, "electr", 32) == [
                "electric",
                "electrical",
                "electricite",
                "electricity",
                "electrique",
                "electron",
            ]
            assert prefix_words(s, "electr", 5) is None
            assert prefix_words(s, "zzq", 32) == []
            assert fts5_query(s, parse_query("electro* grid")) == '"electron" AND "grid"'
            assert fts5_query(s, parse_query("électr*")) == '"électr"*'
            monkeypatch.setattr("newsarchive.archive.search.PREFIX_WORDS", 3)
            assert fts5_query(s, parse_query("electr*")) == '"electr"*'
        after = {q: [(h.id, h.snippet, h.score) for h in search(s, q)] for q in queries}
    assert before == after
    assert {q: len(hits) for q, hits in before.items()} == {
        "electr*": 3,
        "électr*": 2,
        "electr* OR elect": 3,
        "elect* -electron": 2,
        "zzq*": 0,
    }


def test_a_read_only_archive_searches_prefixes(archive_url: str) -> None:
    """The word table lives in the connection's temporary schema, which a read-only SQLite
    archive (``mode=ro``, as the web server opens it) still lets it create."""
    from newsarchive.archive import open_archive

    with open_archive(archive_url) as writable, writable.session() as s:
        add_article(s, "wire", "one", "Charging", "Chargers and charging points.")
    with open_archive(archive_url, read_only=True) as archive, archive.session() as s:
        hits = search(s, "charg*")
        assert [h.title for h in hits] == ["Charging"]
        assert "[Chargers]" in hits[0].snippet


def test_a_filtered_search_walks_either_side_to_the_same_page(
    archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the cap with a filter, SQLite walks the passing articles or FTS5's matches (page by
    page), whichever is denser: both give the same candidates, so the same pages; PostgreSQL
    ranks the same ones."""
    with archive.session() as s:
        ids = {}
        for k in range(30):
            mentions = {9: 5, 21: 3}.get(k, 1)
            body = " ".join(["Turbine"] * mentions) + " news." if k % 3 == 0 else "Other news."
            source = "wire" if k % 2 else "daily"
            ids[k] = add_article(s, source, f"a{k}", f"Story {k}", body).id
        monkeypatch.setattr("newsarchive.archive.search.RANK_CANDIDATES", 2)
        monkeypatch.setattr("newsarchive.archive.search._FILTER_BATCH", 4)
        monkeypatch.setattr("newsarchive.archive.search._MATCH_PAGE", 3)
        wire = SearchFilters(source="wire")
        pages = {}
        for forced in (None, True, False):
            if forced is not None:
                monkeypatch.setattr(
                    "newsarchive.archive.search.walk_matches", lambda *_, v=forced: v
                )
            pages[forced] = [
                [h.id for h in search(s, "turbine", wire, limit=1, offset=offset)]
                for offset in (0, 1, 2, 3, 4, 5)
            ]
    # offset 0 ranks the newest two wire matches (27, 21: 21 says it three times); offset 1
    # the newest four (9 says it five times: 9, 21, 15, 27); from offset 2 all five wire
    # matches (9, 21, then 3, 15, 27 alike, by id)
    assert pages[None] == pages[True] == pages[False]
    expected = [[ids[21]], [ids[21]], [ids[3]], [ids[15]], [ids[27]], []]
    if archive.backend == "sqlite":
        assert pages[None] == expected
    assert [p[0] for p in pages[None][:2]] == [ids[21], ids[21]]


def test_the_denser_walk_is_chosen() -> None:
    """The match walk when the newest matches are sparse against a full batch of passing ids
    (within the cost ratio), never for a prefix FTS5 merges or a short batch."""
    from newsarchive.archive.search import _FILTER_BATCH, walk_matches

    dense = list(range(10_000, 10_000 - _FILTER_BATCH, -1))  # every id passes
    sparse = list(range(100_000, 100_000 - 100 * _FILTER_BATCH, -100))  # one id in 100
    matches_dense = list(range(50_000, 49_000, -1))
    matches_sparse = list(range(1_000_000, 0, -1000))  # one match in 1,000
    assert walk_matches(dense, matches_sparse, '"word"')
    assert not walk_matches(sparse, matches_dense, '"word"')
    assert walk_matches(sparse, matches_sparse, '"word"')  # 1/1000 < 4 × 1/100
    assert not walk_matches(sparse, list(range(50_000, 49_000, -20)), '"word"')  # 1/20 ≥ 4/100
    assert not walk_matches(dense, matches_sparse, '"wor"*')
    assert not walk_matches(dense[:-1], matches_sparse, '"word"')


def test_the_candidates_read_past_the_time_limit_is_a_timeout(tmp_path: Path) -> None:
    """The ranking reads its candidates' rows through the driver's cursor (SQLite): an
    interrupt there is still the time limit's ``QueryTimeoutError`` (the web app's 503), not
    the driver's own error, and the connection is usable after it."""
    archive = open_archive(str(tmp_path / "archive.db"))
    try:
        ids = _stories(archive)
        query = parse_query("battery")
        many = list(range(1, 300_001))  # enough rows of json_each to reach the progress handler
        with pytest.raises(QueryTimeoutError, match=r"longer than 0 s"):  # noqa: SIM117
            with archive.session() as s, time_limit(s, 0):
                bm25_ranked(s, query, many)
        with archive.session() as s, time_limit(s, 5):
            ranked = bm25_ranked(s, query, many)
        assert {i for i, _ in ranked} == set(ids.values())
        assert ranked[0][0] == ids["titled"]
    finally:
        archive.dispose()
