"""Frontier queries on url_state and run health, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from newsarchive.archive.frontier import (
    MAX_RESUME_ATTEMPTS,
    Discovered,
    Validators,
    frontier_counts,
    load_known,
    mark_requeued,
    pending_urls,
    record_discovered,
    record_gone,
    record_not_modified,
    record_validators,
    revisit_due,
)
from newsarchive.archive.runs import (
    RunCounts,
    finish_run,
    last_unfinished_run,
    previous_run,
    source_health,
    start_run,
)
from newsarchive.archive.store import save_page
from newsarchive.items import Article, FetchedPage

if TYPE_CHECKING:
    from newsarchive.archive import Archive

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _page(url: str, source: str, *, body: str | None, at: datetime = T0) -> FetchedPage:
    article = None
    if body is not None:
        article = Article(url=url, canonical_url=url, title=f"Title {url}", body=body)
    return FetchedPage(
        url=url,
        requested_url=url,
        status=200,
        body=b"<html>x</html>",
        fetched_at=at,
        source=source,
        headers={"ETag": '"abc"', "Last-Modified": "Wed, 01 May 2024 12:00:00 GMT"},
        article=article,
    )


def _text(n: int) -> str:
    return " ".join(f"word{n}x{i} token{i * n}" for i in range(80))


def test_discovered_urls_resume_until_fetched(archive: Archive) -> None:
    a, b, c = (f"https://ledger.example/news/{x}.html" for x in "abc")
    with archive.session() as s:
        added = record_discovered(
            s,
            [Discovered(a, "ledger", lastmod=T0), Discovered(b, "ledger"), Discovered(a, "ledger")],
            run_id=None,
        )
        assert added == 2
        record_discovered(s, [Discovered(c, "other")])
    with archive.session() as s:
        pending = pending_urls(s, ["ledger"])
        assert [p.url for p in pending] == [a, b]
        assert pending[0].lastmod == T0
        assert [p.url for p in pending_urls(s, ["other"])] == [c]
        assert pending_urls(s, []) == []
    with archive.session() as s:  # a fetched page leaves the pending set (store writes it)
        save_page(s, _page(a, "ledger", body=_text(1)))
    with archive.session() as s:
        assert [p.url for p in pending_urls(s, ["ledger"])] == [b]
        # rediscovering a stored URL does not reset its state
        record_discovered(s, [Discovered(a, "ledger")])
    with archive.session() as s:
        known = load_known(s, sources=["ledger"])
        assert set(known) == {a}
        assert known[a].state == "stored"
        assert known[a].etag == '"abc"'
        assert frontier_counts(s) == {"stored": 1, "discovered": 2}
        assert frontier_counts(s, ["ledger"]) == {"stored": 1, "discovered": 1}


def test_resume_attempts_are_bounded(archive: Archive) -> None:
    url = "https://ledger.example/private/x.html"
    with archive.session() as s:
        record_discovered(s, [Discovered(url, "ledger")])
    for _ in range(MAX_RESUME_ATTEMPTS):
        with archive.session() as s:
            assert [p.url for p in pending_urls(s, ["ledger"])] == [url]
            mark_requeued(s, [url])
    with archive.session() as s:
        assert pending_urls(s, ["ledger"]) == []


def test_gone_and_validators_and_not_modified(archive: Archive) -> None:
    gone, feed = "https://ledger.example/news/gone.html", "https://ledger.example/feed.xml"
    with archive.session() as s:
        record_discovered(s, [Discovered(gone, "ledger")])
    with archive.session() as s:
        record_gone(s, [(gone, 404)], at=T0)
        record_validators(
            s, [Validators(feed, "ledger", "feed", 200, '"f1"', "Wed, 01 May 2024", "h1", T0)]
        )
    with archive.session() as s:
        assert pending_urls(s, ["ledger"]) == []
        known = load_known(s)
        assert known[gone].state == "gone"
        assert (known[feed].state, known[feed].etag, known[feed].kind) == (
            "fetched",
            '"f1"',
            "feed",
        )
        record_validators(s, [Validators(feed, "ledger", "feed", 200, '"f2"', None, None, T0)])
    with archive.session() as s:
        assert load_known(s)[feed].etag == '"f2"'
        # validators never overwrite the state of a stored article that is also a feed entry
        art = "https://ledger.example/news/a.html"
        save_page(s, _page(art, "ledger", body=_text(2)))
    with archive.session() as s:
        record_validators(s, [Validators(art, "ledger", "feed", 200, '"zz"')])
        later = T0 + timedelta(days=3)
        record_not_modified(s, [art], at=later)
    with archive.session() as s:
        known = load_known(s)[art]
        assert (known.state, known.etag, known.last_fetched) == ("stored", '"abc"', later)


def test_revisit_due_picks_stale_stored_articles(archive: Archive) -> None:
    old, fresh = "https://ledger.example/news/old.html", "https://ledger.example/news/new.html"
    with archive.session() as s:
        save_page(s, _page(old, "ledger", body=_text(3), at=T0 - timedelta(days=10)))
        save_page(s, _page(fresh, "ledger", body=_text(4), at=T0))
        save_page(s, _page("https://ledger.example/", "ledger", body=None, at=T0 - timedelta(9)))
    with archive.session() as s:
        due = revisit_due(s, ["ledger"], older_than=timedelta(days=2), now=T0)
        assert [k.url for k in due] == [old]
        assert revisit_due(s, ["ledger"], older_than=timedelta(days=20), now=T0) == []
        assert revisit_due(s, ["other"], older_than=timedelta(days=2), now=T0) == []


def _run(
    archive: Archive, sources: list[str], status: str, job: str | None = "j", **kw: int
) -> int:
    with archive.session() as s:
        run_id = start_run(s, job=job, arguments={"x": 1}, sources=sources)
    with archive.session() as s:
        finish_run(s, run_id, status=status, counts=RunCounts(**kw), stats={})
    return run_id


def test_health_flags_sources_with_nothing_new_or_mostly_errors(archive: Archive) -> None:
    # "busy" finds new articles in every run; "dead" never does; "broken" mostly errors
    for n in range(3):
        with archive.session() as s:
            run_id = start_run(s, job="j", arguments={}, sources=["busy", "dead"])
        with archive.session() as s:
            save_page(
                s,
                _page(f"https://busy.example/{n}.html", "busy", body=_text(10 + n), at=_now()),
                run_id=run_id,
            )
            save_page(
                s, _page("https://dead.example/", "dead", body=None, at=_now()), run_id=run_id
            )
        with archive.session() as s:
            finish_run(s, run_id, status="ok", counts=RunCounts(), stats={})
    _run(archive, ["broken"], "partial", pages_fetched=2, errors=9)
    with archive.session() as s:
        report = {h.source: h for h in source_health(s, last_n=3)}
        assert report["busy"].healthy, report["busy"]
        assert report["busy"].articles_new == 3
        assert report["dead"].problems == ["nothing_new"]
        assert report["dead"].pages == 3
        assert "mostly_errors" in report["broken"].problems
        assert report["broken"].runs == 1
        # too few runs to call "broken" barren; a source never crawled is reported as such
        assert "nothing_new" not in report["broken"].problems
        only = source_health(s, sources=["never"], last_n=3)
        assert [(h.source, h.problems) for h in only] == [("never", ["never_crawled"])]
        assert report["dead"].as_json()["healthy"] is False


def test_previous_and_unfinished_runs(archive: Archive) -> None:
    first = _run(archive, ["a"], "ok", job="nightly")
    second = _run(archive, ["a"], "interrupted", job="nightly")
    _run(archive, ["a"], "ok", job="other")
    with archive.session() as s:
        prev = previous_run(s, job="nightly", before=second)
        assert prev is not None
        assert prev.id == first
        resumable = last_unfinished_run(s, job="nightly")
        assert resumable is not None
        assert resumable.id == second
        assert last_unfinished_run(s, job="other") is None


def _now() -> datetime:
    return datetime.now(UTC)
