"""Translated republications are linked to their original; independent same-event articles,
in any language, are not."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from newsarchive.archive.linking import backfill_anchors
from newsarchive.archive.models import AnchorBand, ArticleAnchor, Duplicate
from newsarchive.archive.store import SaveResult, save_page
from newsarchive.archive.versions import duplicate_group
from newsarchive.extraction import fingerprint

from .syndication import Entry, entries, entry_page, make_page

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from newsarchive.archive import Archive
    from newsarchive.items import FetchedPage


def save(archive: Archive, page: FetchedPage) -> SaveResult:
    with archive.session() as session:
        return save_page(session, page)


def all_entries() -> list[Entry]:
    return entries() + entries("translations")


def store_all(archive: Archive, items: list[Entry]) -> dict[str, SaveResult]:
    return {e.file: save(archive, entry_page(e, offset=i)) for i, e in enumerate(items)}


def links(archive: Archive) -> dict[int, tuple[int, str]]:
    with archive.session() as session:
        rows = session.execute(select(Duplicate.article_id, Duplicate.original_id, Duplicate.kind))
        return {a: (o, k) for a, o, k in rows}


def pair_scores(archive: Archive, results: dict[str, SaveResult]) -> tuple[float, float]:
    """Precision and recall of the stored grouping over all article pairs, by fixture story."""
    story = {results[e.file].article_id: e.story for e in all_entries()}
    group = {a: links(archive).get(a, (a, ""))[0] for a in story}
    tp = fp = fn = 0
    for a, b in itertools.combinations(story, 2):
        predicted, actual = group[a] == group[b], story[a] == story[b]
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
    copies = set(links(archive))
    assert not {o for o, _ in links(archive).values()} & copies, "a copy points at a copy"
    return tp / (tp + fp), tp / (tp + fn)


def test_numbers_agree_across_number_formats() -> None:
    runs = fingerprint.anchor_runs("Sales rose by 3,200 units, or 3.5 percent, to 1 200 000.")
    assert runs == [["#3200"], ["#3.5"], ["#1200000"]]
    assert fingerprint.anchor_runs("Le vendite: 3.200 unità, 3,5 per cento.") == [
        ["#3200"],
        ["#3.5"],
    ]


def test_anchors_are_names_not_sentence_starts() -> None:
    text = (
        'The plant in Győr will build it. Renault and IG Metall said so. "We agree," said '
        "Luca de Meo of Renault Group.\nOfficials at Hallam Brothers disagreed."
    )
    runs = fingerprint.anchor_runs(text)
    # "The", "We", "Officials" start sentences; "Renault" starts one but is a name elsewhere
    assert runs == [
        ["gyor"],
        ["renault"],
        ["ig", "metall"],
        ["luca"],
        ["meo"],
        ["renault", "group"],
        ["hallam", "brothers"],
    ]
    assert fingerprint.parse_anchor_text(fingerprint.anchor_text(runs)) == runs
    assert "ig metall" not in fingerprint.anchor_pairs(runs)  # inside one name
    assert "metall luca" in fingerprint.anchor_pairs(runs)


def test_anchor_bands_are_deterministic_per_pair_set() -> None:
    body = next(e for e in entries() if e.file == "wire-original.txt").body
    fp = fingerprint.fingerprint(body)
    offset = fingerprint.ENTITY_BAND_OFFSET
    assert [band for band, _ in fp.anchor_bands] == list(range(fingerprint.ANCHOR_BANDS)) + list(
        range(offset, offset + fingerprint.ENTITY_BANDS)
    )
    assert all(0 <= key < 2**32 for _, key in fp.anchor_bands)  # fits a BIGINT column
    pairs = fingerprint.anchor_pairs(fingerprint.parse_anchor_text(fp.anchors))
    entity_pairs = fingerprint.entity_pairs(fingerprint.parse_entity_text(fp.anchors))
    # the stored text round-trips
    assert (
        fingerprint.anchor_band_keys(pairs) + fingerprint.entity_band_keys(entity_pairs)
        == fp.anchor_bands
    )
    assert fingerprint.fingerprint(body.replace("\n", "\n\n")).anchor_bands == fp.anchor_bands


def test_primary_language() -> None:
    assert fingerprint.primary_language("en-GB") == fingerprint.primary_language("EN_us") == "en"
    assert fingerprint.primary_language("") is None
    assert fingerprint.primary_language(None) is None


def test_translation_scores_separate_from_independent_articles() -> None:
    """Every translation pair scores above the threshold, every other cross-language pair below."""
    items = all_entries()
    anchors = {e.file: fingerprint.anchor_text(fingerprint.anchor_runs(e.body)) for e in items}
    lowest, highest = 1.0, 0.0
    for a, b in itertools.combinations(items, 2):
        if a.lang == b.lang:
            continue
        score = fingerprint.anchor_similarity(anchors[a.file], anchors[b.file])
        if a.story == b.story:
            lowest = min(lowest, score)
        else:
            highest = max(highest, score)
    assert highest < fingerprint.TRANSLATION_THRESHOLD <= lowest
    assert lowest > 1.5 * highest


def test_short_text_takes_no_part_in_translation_linking() -> None:
    fp = fingerprint.fingerprint("Nordhaven Motors will cut 3,200 jobs at Kessenich, it said.")
    assert (fp.anchors, fp.anchor_bands) == ("", ())


@pytest.mark.parametrize("order", ["originals_first", "translations_first"])
def test_translations_link_to_the_wire_original(archive: Archive, order: str) -> None:
    items = all_entries() if order == "originals_first" else list(reversed(all_entries()))
    results = store_all(archive, items)
    assert pair_scores(archive, results) == (1.0, 1.0)
    linked = links(archive)
    wire = results["wire-original.txt"].article_id
    recall = results["recall-wire.txt"].article_id
    for name, original in (
        ("tr-wire-it.txt", wire),
        ("tr-wire-fr.txt", wire),
        ("tr-wire-id.txt", wire),
        ("tr-recall-fr.txt", recall),
    ):
        article_id = results[name].article_id
        assert linked[article_id or 0] == (original, "translation"), name
    for name in ("indep-it.txt", "indep-fr.txt", "indep-id.txt", "indep-recall-it.txt"):
        assert results[name].article_id not in linked, name
    if order == "originals_first":
        result = results["tr-wire-fr.txt"]
        assert (result.status, result.kind, result.original_id) == (
            "duplicate",
            "translation",
            wire,
        )
        assert result.score is not None
        assert fingerprint.TRANSLATION_THRESHOLD <= result.score < 1.0
    with archive.session() as session:
        members = duplicate_group(session, results["tr-wire-id.txt"].article_id or 0)
    assert (members[0].article_id, members[0].lang) == (wire, "en")
    assert sorted(m.lang or "" for m in members if m.kind == "translation") == ["fr", "id", "it"]
    assert all(m.lang == "en" for m in members if m.kind in ("exact", "near"))


@pytest.mark.parametrize("lang", ["en", "en-GB", None])
def test_translation_needs_two_known_different_languages(
    archive: Archive, lang: str | None
) -> None:
    """Anchor order alone never links two articles in one language (that is the near check's),
    nor an article whose language is unknown."""
    items = {e.file: e for e in all_entries()}
    save(archive, entry_page(items["wire-original.txt"]))
    french = items["tr-wire-fr.txt"]
    page = make_page(
        url=french.url,
        title=french.title,
        body=french.body,
        source=french.source,
        published=french.published,
        lang=lang,
    )
    assert (save(archive, page).status, lang) == ("new", lang)


@pytest.mark.parametrize(
    ("days", "kind"),
    [
        (fingerprint.TRANSLATION_WINDOW_DAYS - 1, "translation"),
        (-fingerprint.TRANSLATION_WINDOW_DAYS - 2, None),
        (fingerprint.TRANSLATION_WINDOW_DAYS + 2, None),
    ],
)
def test_only_translations_within_the_date_window_are_linked(
    archive: Archive, days: int, kind: str | None
) -> None:
    items = {e.file: e for e in all_entries()}
    wire = save(archive, entry_page(items["wire-original.txt"]))
    italian = items["tr-wire-it.txt"]
    assert italian.published is not None
    page = make_page(
        url=italian.url,
        title=italian.title,
        body=italian.body,
        source=italian.source,
        published=italian.published + timedelta(days=days),
        lang=italian.lang,
    )
    result = save(archive, page)
    assert result.kind == kind
    if kind is None:
        assert result.status == "new"
    else:
        assert (result.status, result.original_id) == ("duplicate", wire.article_id)


def test_refetch_with_new_text_replaces_the_anchor_index(archive: Archive) -> None:
    items = {e.file: e for e in all_entries()}
    italian = items["tr-wire-it.txt"]
    first = save(archive, entry_page(italian))
    changed = make_page(
        url=italian.url,
        title=italian.title,
        body=items["other-it.txt"].body,
        source=italian.source,
        published=italian.published,
        lang="it",
        fetched_at=entry_page(italian).fetched_at + timedelta(hours=3),
    )
    assert save(archive, changed).status == "updated"
    with archive.session() as session:
        stored = session.get(ArticleAnchor, first.article_id)
        assert stored is not None
        assert stored.anchors == fingerprint.fingerprint(items["other-it.txt"].body).anchors
        count = session.scalar(select(func.count()).select_from(AnchorBand))
        assert count == len(fingerprint.fingerprint(items["other-it.txt"].body).anchor_bands)


def test_backfill_indexes_articles_stored_without_anchors(archive: Archive) -> None:
    items = {e.file: e for e in all_entries()}
    wire = save(archive, entry_page(items["wire-original.txt"]))
    save(archive, entry_page(items["recall-wire.txt"]))
    with archive.session() as session:
        before = sorted(session.execute(select(AnchorBand.__table__)).all())
        session.execute(AnchorBand.__table__.delete())
        session.execute(ArticleAnchor.__table__.delete())
    unindexed = save(archive, entry_page(items["tr-recall-fr.txt"]))
    assert (unindexed.status, unindexed.kind) == ("new", None)
    start: int | None = 0
    batches = 0
    while start is not None:
        with archive.session() as session:
            start = save_page_backfill(session, start)
        batches += 1
    assert batches == 3  # two batches of two articles, then the empty one
    with archive.session() as session:
        after = sorted(
            session.execute(
                select(AnchorBand.__table__).where(AnchorBand.article_id != unindexed.article_id)
            ).all()
        )
    assert after == before
    french = save(archive, entry_page(items["tr-wire-fr.txt"]))
    assert (french.kind, french.original_id) == ("translation", wire.article_id)


def save_page_backfill(session: Session, start: int) -> int | None:
    return backfill_anchors(session, start_id=start, batch=2)
