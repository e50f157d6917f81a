"""Re-extraction from stored captures: versions only where the extractor's output changed."""

from __future__ import annotations

import gzip
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select, update

from newsarchive.archive.models import Article, ArticleVersion, CrawlRun, Duplicate
from newsarchive.archive.reextract import reextract
from newsarchive.archive.store import ensure_source, save_page
from newsarchive.extraction import extract, fingerprint
from newsarchive.items import FetchedPage

from .conftest import FETCHED, demo_pages, store_pages

if TYPE_CHECKING:
    from collections.abc import Callable

    from click.testing import Result

    from newsarchive.archive import Archive

# the shared corpus beside the repository (NEWSARCHIVE_CORPUS points elsewhere)
CORPUS = Path(
    os.environ.get("NEWSARCHIVE_CORPUS", Path(__file__).resolve().parents[3] / "shared" / "corpus")
)


def _corpus_pages(limit: int) -> list[tuple[str, str, bytes]]:
    """Real pages of the shared corpus that the extractor makes an article of."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found at {CORPUS}")
    pages = []
    for meta_path in sorted(CORPUS.glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        html_path = meta_path.with_name(meta_path.name.removesuffix(".json") + ".html.gz")
        if not meta.get("url") or not html_path.exists():
            continue
        html = gzip.decompress(html_path.read_bytes())
        article = extract(html, meta["url"], FETCHED)
        if article is None or article.word_count < 40 or not article.title:
            continue
        pages.append((f"corpus-{meta['id'].split('-')[0]}", meta["url"], html))
        if len(pages) == limit:
            break
    return pages


@pytest.fixture
def corpus_archive(archive: Archive) -> Archive:
    store_pages(archive, _corpus_pages(6) + demo_pages(3))
    return archive


def _state(archive: Archive) -> list[tuple]:
    with archive.session() as s:
        return list(
            s.execute(
                select(
                    Article.id,
                    Article.version,
                    Article.content_sha256,
                    Article.date_source,
                    Article.published,
                ).order_by(Article.id)
            )
        )


def test_unchanged_extractor_changes_nothing(corpus_archive: Archive) -> None:
    before = _state(corpus_archive)
    report = reextract(corpus_archive, workers=0, batch=4)
    assert report.articles == len(before) == 9
    assert (report.versions, report.metadata_only, report.relinked) == (0, 0, 0)
    assert report.unchanged == 9
    assert _state(corpus_archive) == before
    with corpus_archive.session() as s:
        run = s.scalars(select(CrawlRun).where(CrawlRun.job == "reextract")).one()
        assert run.status == "ok"
        assert run.stats["last_id"] == before[-1][0]


def test_versions_only_where_the_output_changed(corpus_archive: Archive) -> None:
    """Stored rows made to look like an older extractor's output: a cut body, a guessed date."""
    before = _state(corpus_archive)
    cut_id, dated_id = before[1][0], before[4][0]
    with corpus_archive.session() as s:
        row = s.get(Article, cut_id)
        assert row is not None
        cut_body = "\n".join(row.body.splitlines()[:1]) + "\nRead more"
        cut_sha = fingerprint.fingerprint(cut_body).content_sha256
        s.execute(
            update(Article)
            .where(Article.id == cut_id)
            .values(body=cut_body, content_sha256=cut_sha)
        )
        s.execute(update(Article).where(Article.id == dated_id).values(date_source="url"))
    dry = reextract(corpus_archive, workers=0, dry_run=True)
    assert (dry.versions, dry.metadata_only, dry.run_id) == (1, 1, None)
    assert dict(dry.fields) == {"body": 1, "date_source": 1}
    with corpus_archive.session() as s:
        assert s.get(Article, cut_id).body == cut_body  # a dry run writes nothing
    report = reextract(corpus_archive, workers=1, batch=3)  # through the process pool
    assert (report.versions, report.metadata_only, report.unchanged) == (1, 1, 7)
    assert dict(report.fields) == {"body": 1, "date_source": 1}
    after = {r[0]: r for r in _state(corpus_archive)}
    for old in before:
        new = after[old[0]]
        assert new[1] == (2 if old[0] == cut_id else 1), old[0]  # only the cut one is revised
        assert new[2:] == old[2:]  # back to what the extractor gives
    with corpus_archive.session() as s:
        version = s.scalars(select(ArticleVersion)).one()
        assert (version.article_id, version.version, version.body) == (cut_id, 1, cut_body)
    again = reextract(corpus_archive, workers=0)
    assert (again.versions, again.metadata_only, again.unchanged) == (0, 0, 9)  # idempotent


def test_a_changed_body_is_linked_again(archive: Archive) -> None:
    pages = {
        url.rsplit("/", 2)[-2] if url.endswith("/") else url.rsplit("/", 1)[-1]: p
        for p in demo_pages()
        for url in [p[1]]
    }
    original = pages["renault-group-talks-xiaomi-li-auto-ev-technology"]
    copy = pages["renault-eyes-chinese-tech-partners-de-meo-meets-xiaomi.html"]
    store_pages(archive, [original])
    # the copy stored as an older extractor saw it: the site's footer instead of the story
    with archive.session() as s:
        ensure_source(s, copy[0], language="en")
        article = extract(copy[2], copy[1], FETCHED, encoding="utf-8", lang_hint="en")
        assert article is not None
        footer = " ".join(f"Subscribe to our newsletter about topic {i}." for i in range(40))
        page = FetchedPage(
            url=copy[1],
            requested_url=copy[1],
            status=200,
            body=copy[2],
            fetched_at=FETCHED,
            source=copy[0],
            encoding="utf-8",
            article=replace(article, body=footer),
        )
        assert save_page(s, page).status == "new"
    report = reextract(archive, workers=0)
    assert (report.versions, report.relinked) == (1, 1)
    with archive.session() as s:
        link = s.scalars(select(Duplicate)).one()
        ids = dict(s.execute(select(Article.url, Article.id)).all())
    assert (link.article_id, link.original_id, link.kind) == (
        ids[copy[1]],
        ids[original[1]],
        "near",
    )


def test_interrupted_run_resumes(corpus_archive: Archive) -> None:
    def stop_after_first_batch(report: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reextract(corpus_archive, workers=0, batch=4, progress=stop_after_first_batch)
    with corpus_archive.session() as s:
        run = s.scalars(select(CrawlRun).where(CrawlRun.job == "reextract")).one()
        assert run.status == "interrupted"
        assert run.stats["articles"] == 4
        stopped_at = run.stats["last_id"]
    resumed = reextract(corpus_archive, workers=0, batch=4, resume=True)
    assert resumed.resumed_after == stopped_at
    assert resumed.articles == 9  # 4 before the interruption, 5 after
    assert resumed.unchanged == 9


def test_cli(captured: Archive, archive_url: str, invoke: Callable[..., Result]) -> None:
    result = invoke(
        "reextract", "--db", archive_url, "--dry-run", "--workers", "0", "--source", "autoitalia"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("re-extracted 3 articles (dry run): would record 0 new")
    bad = invoke("reextract", "--db", archive_url, "--query", "renault OR")
    assert bad.exit_code == 2
