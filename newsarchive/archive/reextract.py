"""Re-extraction: the current extractor over the raw HTML the archive already holds, no network.

For each selected article the latest stored capture of its own URL is decompressed and
extracted again in the extraction process pool (timeouts and crash isolation as in a crawl),
and the result goes through the refetch rules of :mod:`newsarchive.archive.store`:

- a real change of the text (``store.revise_article``: body beyond timestamps/counters, or the
  title) records a new version, exactly as a refetch would, and the article's copy links are
  checked again (its own link re-searched, its copies re-scored; a copy that no longer
  matches becomes its own original);
- a change of metadata only (dates, date source, authors, companies, tags…) updates the row in
  place (``store.refresh_metadata``): no version, since the text did not change;
- an extraction the crawl's validation would refuse (nothing extracted, under ``MIN_WORDS``
  words, no title) or that fails leaves the stored article as it is, and is counted.

Articles go in id order, ``batch`` at a time, one transaction per batch. The run is recorded in
``crawl_runs`` as job ``reextract`` with the last finished id in its stats, so an interrupted
run resumes where it stopped (``resume=True``); re-running over an unchanged extractor changes
nothing, since the stored state is then what the extractor gives.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from newsarchive.archive import linking
from newsarchive.archive.models import Article as ArticleRow
from newsarchive.archive.models import (
    ArticleAnchor,
    ArticleSignature,
    Capture,
    CrawlRun,
    Duplicate,
    Source,
)
from newsarchive.archive.runs import RunCounts, finish_run, last_unfinished_run, start_run
from newsarchive.archive.search import SearchFilters, filter_clauses, match_clause
from newsarchive.archive.searchquery import matches, parse_query
from newsarchive.archive.store import changed_fields, refresh_metadata, revise_article
from newsarchive.errors import ExtractionError
from newsarchive.extraction import extract, fingerprint

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session

    from newsarchive.archive.db import Archive
    from newsarchive.extraction.fingerprint import Fingerprint
    from newsarchive.extraction.pool import ExtractorPool
    from newsarchive.items import Article

logger = logging.getLogger(__name__)

JOB = "reextract"
# As the crawl's validation stage: below this many words a "body" is a teaser or a stub.
MIN_WORDS = 40
TEXT_FIELDS = ("title", "body")


@dataclass(slots=True)
class ReextractReport:
    """What a re-extraction did (or, with ``dry_run``, would do)."""

    dry_run: bool = False
    run_id: int | None = None
    resumed_after: int | None = None
    articles: int = 0
    unchanged: int = 0
    versions: int = 0
    metadata_only: int = 0
    relinked: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)
    last_id: int = 0

    def as_stats(self) -> dict[str, Any]:
        return {
            "last_id": self.last_id,
            "articles": self.articles,
            "unchanged": self.unchanged,
            "versions": self.versions,
            "metadata_only": self.metadata_only,
            "relinked": self.relinked,
            "skipped": dict(self.skipped),
            "fields": dict(self.fields),
        }

    def restore(self, stats: dict[str, Any]) -> None:
        """Continue the counts of an interrupted run."""
        for name in ("last_id", "articles", "unchanged", "versions", "metadata_only", "relinked"):
            setattr(self, name, int(stats.get(name, 0)))
        self.skipped = Counter(stats.get("skipped", {}))
        self.fields = Counter(stats.get("fields", {}))


@dataclass(frozen=True, slots=True)
class CaptureInput:
    article_id: int
    html_gz: bytes
    url: str
    fetched_at: datetime
    encoding: str | None
    lang_hint: str | None


def extract_capture(job: CaptureInput) -> tuple[Article | None, Fingerprint | None]:
    """In a pool worker: the stored bytes → (article, fingerprint of its body)."""
    html = zlib.decompress(job.html_gz)
    article = extract(html, job.url, job.fetched_at, encoding=job.encoding, lang_hint=job.lang_hint)
    if article is None:
        return None, None
    return article, fingerprint.fingerprint(article.body)


def _select_ids(
    session: Session, filters: SearchFilters, query: str | None, after: int, batch: int
) -> list[int]:
    parsed = parse_query(query) if query is not None else None
    stmt = (
        select(ArticleRow.id, ArticleRow.title, ArticleRow.body)
        .join(Source, Source.id == ArticleRow.source_id)
        .where(ArticleRow.id > after, *filter_clauses(filters))
        .order_by(ArticleRow.id)
        .limit(batch)
    )
    if parsed is None:
        return list(session.scalars(stmt.with_only_columns(ArticleRow.id)))
    stmt = stmt.where(match_clause(session, parsed))
    rows = session.execute(stmt).all()
    if not rows:
        return []
    matching = [r.id for r in rows if matches(parsed, r.title, r.body)]
    # keep going past a batch the text check emptied: the caller stops on an empty list only
    return matching or [-rows[-1].id]


def _latest_captures(session: Session, ids: Sequence[int]) -> dict[int, CaptureInput]:
    """The newest stored capture of each article's own URL (not another address of it)."""
    rows = session.execute(
        select(
            Capture.article_id,
            Capture.html_gz,
            Capture.url,
            Capture.final_url,
            Capture.fetched_at,
            Capture.encoding,
            Source.language,
            ArticleRow.url.label("article_url"),
            ArticleRow.canonical_url,
        )
        .join(ArticleRow, ArticleRow.id == Capture.article_id)
        .join(Source, Source.id == ArticleRow.source_id)
        .where(Capture.article_id.in_(ids), Capture.html_gz.is_not(None))
        .order_by(Capture.fetched_at, Capture.id)
    ).all()
    latest: dict[int, CaptureInput] = {}
    for r in rows:
        if {r.url, r.final_url} & {r.article_url, r.canonical_url}:
            latest[r.article_id] = CaptureInput(
                r.article_id, r.html_gz, r.final_url, r.fetched_at, r.encoding, r.language
            )
    return latest


def _refused(article: Article | None, min_words: int) -> str | None:
    if article is None:
        return "no_article"
    if article.word_count < min_words:
        return "too_short"
    if not article.title:
        return "no_title"
    return None


def relink_article(session: Session, row: ArticleRow, fp: Fingerprint) -> bool:
    """Check an article's copy links again after its body changed; True if any link changed.

    Its copies are re-scored against the new text (a copy below its kind's threshold is
    unlinked and stands alone); the article's own link, if it is a copy, is searched again
    with the store's rules. An original that still has copies is not searched, so groups
    never nest.
    """
    changed = False
    copies = list(session.scalars(select(Duplicate).where(Duplicate.original_id == row.id)))
    kept = 0
    for link in copies:
        sha, minhash, anchors = session.execute(
            select(
                ArticleRow.content_sha256,
                ArticleSignature.minhash,
                ArticleAnchor.anchors,
            )
            .outerjoin(ArticleSignature, ArticleSignature.article_id == ArticleRow.id)
            .outerjoin(ArticleAnchor, ArticleAnchor.article_id == ArticleRow.id)
            .where(ArticleRow.id == link.article_id)
        ).one()
        new: tuple[str, float] | None
        if sha == fp.content_sha256:
            new = ("exact", 1.0)
        elif link.kind == "translation":
            score = fingerprint.anchor_similarity(fp.anchors, anchors or "")
            new = ("translation", score) if score >= fingerprint.TRANSLATION_THRESHOLD else None
        else:
            score = fingerprint.similarity(fp.minhash, minhash) if minhash else 0.0
            new = ("near", score) if score >= fingerprint.NEAR_THRESHOLD else None
        if new is None:
            session.delete(link)
            changed = True
            continue
        kept += 1
        changed = changed or link.kind != new[0]
        link.kind, link.score = new
    own = session.get(Duplicate, row.id)
    if kept and own is None:
        return changed
    before = (own.original_id, own.kind) if own is not None else None
    if own is not None:
        session.delete(own)
    session.flush()
    day = linking.effective_day(row.published, row.first_seen)
    found = linking.link_new_article(
        session, row.id, fp, lang=row.lang, published=row.published, day=day
    )
    after = (found.original_id, found.kind) if found and found.replaced is None else None
    return changed or before != after


async def _extract_all(
    pool: ExtractorPool, jobs: Sequence[CaptureInput]
) -> list[tuple[Article | None, Fingerprint | None] | ExtractionError]:
    async def one(job: CaptureInput) -> tuple[Article | None, Fingerprint | None] | ExtractionError:
        try:
            return await pool.run(extract_capture, job)
        except ExtractionError as exc:
            logger.warning("re-extraction of article %d failed: %s", job.article_id, exc)
            return exc

    return list(await asyncio.gather(*(one(job) for job in jobs)))


def _apply(
    session: Session,
    report: ReextractReport,
    ids: Sequence[int],
    results: dict[int, Any],
    min_words: int,
) -> None:
    rows = session.scalars(
        select(ArticleRow).where(ArticleRow.id.in_(ids)).with_for_update().order_by(ArticleRow.id)
    )
    for row in rows:
        report.articles += 1
        result = results.get(row.id)
        if result is None:
            report.skipped["no_capture"] += 1
            continue
        if isinstance(result, ExtractionError):
            report.skipped["failed"] += 1
            continue
        article, fp = result
        reason = _refused(article, min_words)
        if reason is not None or fp is None:
            report.skipped[reason or "no_article"] += 1
            continue
        changed = changed_fields(row, article, fp)
        if not changed:
            report.unchanged += 1
            continue
        report.fields.update(changed)
        text_changed = any(name in TEXT_FIELDS for name in changed)
        if text_changed:
            report.versions += 1
        else:
            report.metadata_only += 1
        if report.dry_run:
            continue
        if text_changed:
            old_sha = row.content_sha256
            revise_article(
                session, row, article, fp, seen=row.last_seen, previous_seen=row.last_seen
            )
            session.flush()
            if row.content_sha256 != old_sha and relink_article(session, row, fp):
                report.relinked += 1
        else:
            refresh_metadata(session, row, article, fp)


def reextract(
    archive: Archive,
    filters: SearchFilters | None = None,
    *,
    query: str | None = None,
    dry_run: bool = False,
    resume: bool = False,
    workers: int | None = None,
    batch: int = 100,
    min_words: int = MIN_WORDS,
    progress: Callable[[ReextractReport], None] | None = None,
) -> ReextractReport:
    """Re-extract the selected articles (copies included) from their stored captures."""
    from newsarchive.extraction.pool import ExtractorPool

    filters = replace(filters or SearchFilters(), include_duplicates=True)
    if query is not None:
        parse_query(query)
    report = ReextractReport(dry_run=dry_run)
    with archive.session() as session:
        previous = last_unfinished_run(session, job=JOB) if resume else None
        if previous is not None:
            stats = session.get(CrawlRun, previous.id)
            report.restore(stats.stats if stats is not None else {})
            report.resumed_after = report.last_id
        if not dry_run:
            report.run_id = start_run(
                session,
                job=JOB,
                arguments={
                    "filters": filters.describe(),
                    "query": query,
                    "resumes_run": previous.id if previous else None,
                },
                sources=[],
            )
    status = "interrupted"
    try:
        with ExtractorPool(workers=workers) as pool:
            _loop(archive, pool, report, filters, query, batch, min_words, progress)
        status = "ok"
    finally:
        if report.run_id is not None:
            with archive.session() as session:
                finish_run(
                    session,
                    report.run_id,
                    status=status,
                    counts=RunCounts(
                        articles_updated=report.versions + report.metadata_only,
                        errors=report.skipped["failed"],
                    ),
                    stats=report.as_stats(),
                )
    return report


def _loop(
    archive: Archive,
    pool: ExtractorPool,
    report: ReextractReport,
    filters: SearchFilters,
    query: str | None,
    batch: int,
    min_words: int,
    progress: Callable[[ReextractReport], None] | None,
) -> None:
    while True:
        with archive.session() as session:
            ids = _select_ids(session, filters, query, report.last_id, batch)
            if not ids:
                return
            if ids[0] < 0:  # a batch with no text match: move past it
                report.last_id = -ids[0]
                continue
            jobs = list(_latest_captures(session, ids).values())
        outcomes = asyncio.run(_extract_all(pool, jobs))
        results = {job.article_id: out for job, out in zip(jobs, outcomes, strict=True)}
        with archive.session() as session:
            _apply(session, report, ids, results, min_words)
            report.last_id = ids[-1]
            if report.run_id is not None:
                run = session.get(CrawlRun, report.run_id)
                if run is not None:
                    run.stats = report.as_stats()
        if progress is not None:
            progress(report)
