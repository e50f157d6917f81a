from __future__ import annotations

import itertools
import zlib
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from newsarchive.archive.models import (
    Article,
    ArticleCompany,
    ArticleSignature,
    ArticleVersion,
    Capture,
    Duplicate,
    LshBand,
    Source,
    UrlState,
)
from newsarchive.archive.store import SaveResult, ensure_source, save_page
from newsarchive.archive.versions import article_versions, duplicate_group, version_diff
from newsarchive.extraction import fingerprint
from newsarchive.items import FetchedPage

from .syndication import FETCHED, FIXTURES, Entry, entries, entry_page, make_page, manifest

if TYPE_CHECKING:
    from newsarchive.archive import Archive


def save(archive: Archive, page: FetchedPage) -> SaveResult:
    with archive.session() as session:
        return save_page(session, page)


def store_all(archive: Archive, items: list[Entry]) -> dict[str, SaveResult]:
    return {e.file: save(archive, entry_page(e, offset=i)) for i, e in enumerate(items)}


def groups(archive: Archive) -> dict[int, int]:
    """article id -> the id of its group's original (itself when it is not a copy)."""
    with archive.session() as session:
        ids = session.scalars(select(Article.id)).all()
        links = dict(session.execute(select(Duplicate.article_id, Duplicate.original_id)).all())
    return {i: links.get(i, i) for i in ids}


def test_ensure_source_is_idempotent_and_fills_gaps(archive: Archive) -> None:
    with archive.session() as session:
        first = ensure_source(session, "meridian-wire")
        again = ensure_source(session, "meridian-wire", homepage="https://meridian.example/")
        assert first == again
        assert session.get(Source, first).homepage == "https://meridian.example/"


@pytest.mark.parametrize(
    ("error", "body", "status", "state"),
    [
        (None, b"<html><body>Tag page</body></html>", "not_article", "not_article"),
        ("ExtractionError: timed out after 30 s", b"<html></html>", "failed", "failed"),
        (None, b"", "not_article", "empty"),
    ],
)
def test_pages_without_article_leave_capture_and_url_state(
    archive: Archive, error: str | None, body: bytes, status: str, state: str
) -> None:
    page = FetchedPage(
        url="https://fleetweekly.example/tag/nordhaven/",
        requested_url="https://fleetweekly.example/tag/nordhaven",
        status=200,
        body=body,
        fetched_at=FETCHED,
        source="fleet-weekly",
        extraction_error=error,
    )
    result = save(archive, page)
    assert result.status == status
    assert result.article_id is None
    with archive.session() as session:
        capture = session.get(Capture, result.capture_id)
        assert capture is not None
        assert capture.extraction_status == state
        assert capture.extraction_error == error
        assert capture.size == len(body)
        assert (zlib.decompress(capture.html_gz) if capture.html_gz else b"") == body
        url_states = {u.url: u.state for u in session.scalars(select(UrlState))}
        assert url_states == {page.url: status, page.requested_url: status}
        assert session.scalar(select(func.count()).select_from(Article)) == 0


def test_new_article_is_stored_with_all_parts(archive: Archive) -> None:
    entry = next(e for e in entries() if e.file == "copy-added-intro.txt")  # published at -06:00
    page = entry_page(entry)
    result = save(archive, page)
    assert result.status == "new"
    assert result.kind is None
    with archive.session() as session:
        row = session.get(Article, result.article_id)
        assert row is not None
        assert row.canonical_url == entry.url
        assert row.published == datetime(2026, 11, 18, 15, 12, tzinfo=UTC)
        assert row.published_offset == -360
        assert row.word_count == len(entry.body.split())
        assert row.content_sha256 == fingerprint.content_sha256(entry.body)
        assert row.first_seen == row.last_seen == FETCHED
        assert row.version == 1
        assert session.scalars(select(ArticleCompany.company)).all() == ["Nordhaven Motors"]
        signature = session.get(ArticleSignature, row.id)
        assert signature is not None
        assert signature.minhash == fingerprint.fingerprint(entry.body).minhash
        bands = session.execute(select(LshBand.band, LshBand.key)).all()
        assert sorted(bands) == sorted(fingerprint.fingerprint(entry.body).bands)
        capture = session.get(Capture, result.capture_id)
        assert capture is not None
        assert capture.article_id == row.id
        assert capture.extraction_status == "ok"
        assert capture.headers == {"content-type": "text/html; charset=utf-8", "etag": '"5f1c-abc"'}
        assert zlib.decompress(capture.html_gz or b"") == page.body
        state = session.scalars(select(UrlState)).one()
        assert (state.state, state.article_id, state.last_status) == ("stored", row.id, 200)
        assert state.last_fetched == FETCHED
        assert state.etag == '"5f1c-abc"'


def _check_groups(archive: Archive, results: dict[str, SaveResult]) -> tuple[float, float]:
    """Precision and recall of the stored links over all article pairs, by fixture story."""
    items = entries()
    story = {results[e.file].article_id: e.story for e in items}
    group = groups(archive)
    tp = fp = fn = 0
    for a, b in itertools.combinations(story, 2):
        predicted, actual = group[a] == group[b], story[a] == story[b]
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
    with archive.session() as session:
        originals = set(session.scalars(select(Duplicate.original_id)))
        copies = set(session.scalars(select(Duplicate.article_id)))
    assert not originals & copies, "a duplicate points at another duplicate"
    return tp / (tp + fp), tp / (tp + fn)


def test_syndicated_copies_link_to_the_wire_original(archive: Archive) -> None:
    results = store_all(archive, entries())
    original = results["wire-original.txt"]
    assert original.status == "new"
    assert results["copy-new-headline.txt"].kind == "exact"
    assert results["copy-new-headline.txt"].score == 1.0
    for name in (
        "copy-added-intro.txt",
        "copy-originally-published.txt",
        "copy-boilerplate.txt",
        "copy-trimmed.txt",
        "copy-other-template.txt",
        "copy-edited.txt",
    ):
        result = results[name]
        assert (result.status, result.kind, result.original_id) == (
            "duplicate",
            "near",
            original.article_id,
        ), name
        assert result.score is not None
        assert fingerprint.NEAR_THRESHOLD <= result.score < 1.0
    for name in ("indep-analysis.txt", "indep-local.txt", "indep-trade.txt", "indep-brief.txt"):
        assert (results[name].status, results[name].kind) == ("new", None), name
    recall_wire = results["recall-wire.txt"].article_id
    assert results["recall-copy-intro.txt"].original_id == recall_wire
    assert results["recall-copy-trimmed.txt"].original_id == recall_wire
    assert _check_groups(archive, results) == (1.0, 1.0)
    with archive.session() as session:
        members = duplicate_group(session, results["copy-trimmed.txt"].article_id or 0)
    assert members[0].article_id == original.article_id
    assert members[0].kind is None
    assert len(members) == 8


def test_an_older_copy_arriving_later_becomes_the_original(archive: Archive) -> None:
    """Stored newest first, every story still ends up grouped under its earliest publication."""
    results = store_all(archive, list(reversed(entries())))
    assert _check_groups(archive, results) == (1.0, 1.0)
    group = groups(archive)
    wire = results["wire-original.txt"]
    assert wire.status == "new"
    assert wire.original_id == wire.article_id
    assert wire.kind in ("exact", "near")
    for e in entries():
        if e.story == "kessenich":
            assert group[results[e.file].article_id or 0] == wire.article_id, e.file
    assert group[results["recall-copy-trimmed.txt"].article_id or 0] == (
        results["recall-wire.txt"].article_id
    )


def test_unknown_publication_date_keeps_the_first_seen_original(archive: Archive) -> None:
    items = {e.file: e for e in entries()}
    undated = save(archive, entry_page(items["copy-boilerplate.txt"]))
    dated = save(archive, entry_page(items["wire-original.txt"], offset=5))
    assert (dated.status, dated.original_id) == ("duplicate", undated.article_id)


def test_another_url_declaring_the_canonical_is_the_same_article(archive: Archive) -> None:
    entry = entries()[0]
    first = save(archive, entry_page(entry))
    amp = make_page(
        url=entry.url + "amp/",
        canonical=entry.url,
        title=entry.title,
        body=entry.body.replace("(MPA) - ", ""),
        source=entry.source,
        published=entry.published,
        fetched_at=FETCHED + timedelta(hours=1),
    )
    result = save(archive, amp)
    assert (result.status, result.kind, result.article_id, result.original_id) == (
        "duplicate",
        "url",
        first.article_id,
        first.article_id,
    )
    with archive.session() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 1
        row = session.get(Article, first.article_id)
        assert row is not None
        assert (row.version, row.last_seen) == (1, FETCHED + timedelta(hours=1))
        assert session.get(Capture, result.capture_id).article_id == first.article_id  # type: ignore[union-attr]
        state = session.scalars(select(UrlState).where(UrlState.url == amp.url)).one()
        assert (state.state, state.article_id) == ("stored", first.article_id)


def test_refetches_keep_revisions(archive: Archive) -> None:
    rev = manifest()["revision"]
    published = datetime.fromisoformat(rev["published"])

    def page(key: str, title: str, hours: int) -> FetchedPage:
        return make_page(
            url=rev["url"],
            title=title,
            body=(FIXTURES / rev[key]).read_text(),
            source=rev["source"],
            published=published,
            fetched_at=FETCHED + timedelta(hours=hours),
        )

    first = save(archive, page("v1", rev["title"], 0))
    trivial = save(archive, page("trivial", rev["title"], 2))
    assert (trivial.status, trivial.article_id) == ("unchanged", first.article_id)
    changed = save(archive, page("v2", rev["title_v2"], 6))
    assert (changed.status, changed.article_id) == ("updated", first.article_id)
    again = save(archive, page("v2", rev["title_v2"], 8))
    assert again.status == "unchanged"
    with archive.session() as session:
        row = session.get(Article, first.article_id)
        assert row is not None
        assert (row.version, row.title, row.last_seen) == (
            2,
            rev["title_v2"],
            FETCHED + timedelta(hours=8),
        )
        assert row.first_seen == FETCHED
        old = session.scalars(select(ArticleVersion)).one()
        assert (old.version, old.title) == (1, rev["title"])
        assert old.body == (FIXTURES / rev["v1"]).read_text()
        assert old.captured_at == FETCHED + timedelta(hours=2)
        v2_fp = fingerprint.fingerprint((FIXTURES / rev["v2"]).read_text())
        assert sorted(session.execute(select(LshBand.band, LshBand.key)).all()) == sorted(
            v2_fp.bands
        )
        assert session.get(ArticleSignature, row.id).minhash == v2_fp.minhash  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(Capture)) == 4
        views = article_versions(session, row.id)
        assert article_versions(session, row.id + 1000) == []
    assert [(v.version, v.current) for v in views] == [(1, False), (2, True)]
    diff = version_diff(views[0], views[1])
    assert diff.startswith("--- version 1")
    assert f"-# {rev['title']}" in diff
    assert "+Workers will be paid during the shutdown, the spokeswoman said." in diff
    assert not any(
        line.startswith(("-", "+")) and "Nobody was injured" in line for line in diff.splitlines()
    )


def test_redirected_page_updates_both_urls(archive: Archive) -> None:
    entry = entries()[0]
    page = entry_page(entry)
    page.requested_url = "https://www.meridianpress.example/r/7f3a"
    result = save(archive, page)
    with archive.session() as session:
        states = {u.url: (u.state, u.article_id) for u in session.scalars(select(UrlState))}
        capture = session.get(Capture, result.capture_id)
        assert capture is not None
        assert (capture.url, capture.final_url) == (page.requested_url, page.url)
    assert states == {
        page.url: ("stored", result.article_id),
        page.requested_url: ("stored", result.article_id),
    }
    save(archive, entry_page(entry, offset=60))
    with archive.session() as session:
        state = session.scalars(select(UrlState).where(UrlState.url == page.url)).one()
        assert (state.attempts, state.first_seen, state.last_fetched) == (
            2,
            FETCHED,
            FETCHED + timedelta(minutes=60),
        )
