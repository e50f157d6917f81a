"""Crawl run history: one ``crawl_runs`` row per crawl, written at start and at the end.

The row is created before the crawl starts so that a run killed with SIGKILL still leaves a trace
(status stays ``running``; the next run marks such stale rows ``crashed``).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from newsarchive.archive.fieldcoverage import BASELINE_RUNS, RunCoverage, judge_coverage
from newsarchive.archive.models import Article, Capture, CrawlRun, Source, UrlState
from newsarchive.archive.types import utcnow
from newsarchive.contracts import ExtractionStatus, FrontierState, RunStatus, count, source_errors

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from sqlalchemy.orm import Session

RUN_STATUSES = tuple(RunStatus)
# Runs that ended without finishing their frontier: the next run must not trust validators
# (ETag / Last-Modified) of discovery pages fetched by them, whose links may never have been
# recorded.
UNFINISHED_STATUSES = (RunStatus.RUNNING, RunStatus.INTERRUPTED, RunStatus.CRASHED)


@dataclass(slots=True)
class RunCounts:
    pages_fetched: int = 0
    articles_new: int = 0
    articles_updated: int = 0
    articles_duplicate: int = 0
    errors: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class RunView:
    id: int
    started_at: datetime
    ended_at: datetime | None
    status: str
    job: str | None
    sources: list[str]
    pages_fetched: int
    articles_new: int
    articles_updated: int
    articles_duplicate: int
    errors: int
    errors_by_kind: dict[str, int]
    arguments: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The fields as a dict (datetimes left for the JSON writer to format)."""
        return {name: getattr(self, name) for name in self.__slots__}


def start_run(
    session: Session, *, job: str | None, arguments: dict[str, Any], sources: list[str]
) -> int:
    _mark_crashed(session)
    run = CrawlRun(
        job=job,
        arguments=arguments,
        sources=sources,
        status=RunStatus.RUNNING,
        pid=os.getpid(),
        hostname=socket.gethostname(),
    )
    session.add(run)
    session.flush()
    return run.id


def _mark_crashed(session: Session) -> None:
    """Runs left ``running`` by a process that no longer exists on this host crashed."""
    host = socket.gethostname()
    stale = session.execute(
        select(CrawlRun.id, CrawlRun.pid).where(
            CrawlRun.status == RunStatus.RUNNING, CrawlRun.hostname == host
        )
    ).all()
    dead = [run_id for run_id, pid in stale if pid is None or not _pid_alive(pid)]
    if dead:
        session.execute(
            update(CrawlRun).where(CrawlRun.id.in_(dead)).values(status=RunStatus.CRASHED)
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def finish_run(
    session: Session, run_id: int, *, status: str, counts: RunCounts, stats: dict[str, Any]
) -> None:
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    run = session.get(CrawlRun, run_id)
    if run is None:
        return
    run.status = status
    run.ended_at = utcnow()
    run.pages_fetched = counts.pages_fetched
    run.articles_new = counts.articles_new
    run.articles_updated = counts.articles_updated
    run.articles_duplicate = counts.articles_duplicate
    run.errors = counts.errors
    run.errors_by_kind = dict(counts.errors_by_kind)
    run.stats = stats


def list_runs(session: Session, *, limit: int = 20, job: str | None = None) -> list[RunView]:
    query = select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)
    if job is not None:
        query = query.where(CrawlRun.job == job)
    return _views(session, query)


def previous_run(session: Session, *, job: str | None, before: int) -> RunView | None:
    """The run of ``job`` (or of no job) just before run ``before``."""
    query = select(CrawlRun.id).where(CrawlRun.id < before).order_by(CrawlRun.id.desc()).limit(1)
    query = query.where(CrawlRun.job.is_(None) if job is None else CrawlRun.job == job)
    run_id = session.scalar(query)
    if run_id is None:
        return None
    return get_run(session, run_id)


def get_run(session: Session, run_id: int) -> RunView | None:
    return next(iter(_views(session, select(CrawlRun).where(CrawlRun.id == run_id))), None)


def last_unfinished_run(session: Session, *, job: str | None) -> RunView | None:
    """The latest run of ``job`` if it crashed or was interrupted (what ``--resume`` resumes)."""
    _mark_crashed(session)
    query = select(CrawlRun).order_by(CrawlRun.id.desc()).limit(1)
    query = query.where(CrawlRun.job.is_(None) if job is None else CrawlRun.job == job)
    views = _views(session, query)
    if views and views[0].status in (RunStatus.INTERRUPTED, RunStatus.CRASHED):
        return views[0]
    return None


def _views(session: Session, query: Any) -> list[RunView]:
    return [
        RunView(
            id=r.id,
            started_at=r.started_at,
            ended_at=r.ended_at,
            status=r.status,
            job=r.job,
            sources=list(r.sources or []),
            pages_fetched=r.pages_fetched,
            articles_new=r.articles_new,
            articles_updated=r.articles_updated,
            articles_duplicate=r.articles_duplicate,
            errors=r.errors,
            errors_by_kind=dict(r.errors_by_kind or {}),
            arguments=dict(r.arguments or {}),
        )
        for r in session.scalars(query)
    ]


# -- health ------------------------------------------------------------------------------------

HEALTH_RUNS = 3  # how many recent runs of a source are judged
ERROR_SHARE = 0.5  # "mostly errors": at least this share of the source's fetches failed


@dataclass(slots=True)
class SourceHealth:
    """How a source did over its last runs; ``problems`` empty means healthy.

    Problems: ``nothing_new`` (none of the last N runs found a new article: the site moved,
    changed layout, or blocks us), ``mostly_errors`` (at least half of the fetches failed),
    ``last_run_<status>`` when the latest run failed or crashed, and the layout alarms of
    :mod:`.fieldcoverage` (``coverage_drop/FIELD``, ``body_shrank``, ``count_drop``).
    """

    source: str
    runs: int
    run_ids: list[int]
    pages: int
    articles_new: int
    errors: int
    last_run_at: datetime | None
    last_status: str | None
    problems: list[str]
    # the layout alarm: the latest judged run's field coverage against the source's median
    coverage: dict[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}
        data["healthy"] = self.healthy
        return data


def source_health(
    session: Session,
    *,
    sources: Sequence[str] | None = None,
    last_n: int = HEALTH_RUNS,
    error_share: float = ERROR_SHARE,
    scan: int = 500,
) -> list[SourceHealth]:
    """Judge each source on its last ``last_n`` finished runs (among the latest ``scan`` runs).

    Per-source numbers come from the rows each run wrote (captures, articles first seen during
    the run, URLs that failed), so a run over many sources still tells them apart. A run of a
    single source also has its run-level error count (HTTP errors never reach a capture), and
    the larger of the two is taken.
    """
    runs = list(
        session.scalars(
            select(CrawlRun)
            .where(CrawlRun.status != RunStatus.RUNNING)
            .order_by(CrawlRun.id.desc())
            .limit(scan)
        )
    )
    per_source: dict[str, list[CrawlRun]] = {}
    coverage: dict[str, list[RunCoverage]] = {}
    for run in runs:
        for name in run.sources or []:
            if sources is None or name in sources:
                bucket = per_source.setdefault(name, [])
                if len(bucket) < last_n:
                    bucket.append(run)
                history = coverage.setdefault(name, [])
                judged = RunCoverage.from_stats(run.id, run.stats or {}, name)
                if judged is not None and len(history) <= BASELINE_RUNS:
                    history.append(judged)
    ids: dict[str, int] = dict(session.execute(select(Source.name, Source.id)).all())
    report: list[SourceHealth] = []
    for name in sorted(set(per_source) | set(sources or ())):
        recent = per_source.get(name, [])
        source_id = ids.get(name)
        pages = new = errors = 0
        for run in recent:
            p, n, e = _run_numbers(session, run, name, source_id)
            pages += p
            new += n
            errors += e
        problems: list[str] = []
        if len(recent) >= last_n and new == 0:
            problems.append("nothing_new")
        if errors and errors >= error_share * (pages + errors):
            problems.append("mostly_errors")
        if recent and recent[0].status in (RunStatus.FAILED, RunStatus.CRASHED):
            problems.append(f"last_run_{recent[0].status}")
        if not recent:
            problems.append("never_crawled")
        verdict = judge_coverage(coverage.get(name, []))
        problems.extend(verdict.problems)
        report.append(
            SourceHealth(
                source=name,
                runs=len(recent),
                run_ids=[r.id for r in recent],
                pages=pages,
                articles_new=new,
                errors=errors,
                last_run_at=recent[0].started_at if recent else None,
                last_status=recent[0].status if recent else None,
                problems=problems,
                coverage=verdict.as_json(),
            )
        )
    return report


def _run_numbers(
    session: Session, run: CrawlRun, name: str, source_id: int | None
) -> tuple[int, int, int]:
    """(pages fetched, new articles, errors) of one source in one run."""
    pages: int | None
    new: int | None
    if source_id is None:
        pages = new = errors = 0
    else:
        pages = session.scalar(
            select(func.count())
            .select_from(Capture)
            .where(Capture.run_id == run.id, Capture.source_id == source_id)
        )
        end = run.ended_at or utcnow()
        new = session.scalar(
            select(func.count())
            .select_from(Article)
            .where(
                Article.source_id == source_id,
                Article.first_seen >= run.started_at,
                Article.first_seen <= end,
            )
        )
        failed_captures = session.scalar(
            select(func.count())
            .select_from(Capture)
            .where(
                Capture.run_id == run.id,
                Capture.source_id == source_id,
                Capture.extraction_status == ExtractionStatus.FAILED,
            )
        )
        failed_urls = session.scalar(
            select(func.count())
            .select_from(UrlState)
            .where(
                UrlState.run_id == run.id,
                UrlState.source_id == source_id,
                UrlState.state.in_((FrontierState.GONE, FrontierState.FAILED)),
                UrlState.article_id.is_(None),
                UrlState.last_status.is_not(None),
                UrlState.last_status >= 400,
            )
        )
        errors = int(failed_captures or 0) + int(failed_urls or 0)
    # fetches that never got an answer (refused, DNS, timeout) leave no capture: the spider
    # counts them per source in the run's stats
    errors = max(errors, count((run.stats or {}), source_errors(name)))
    pages, new = int(pages or 0), int(new or 0)
    if len(run.sources or []) == 1:
        pages = max(pages, run.pages_fetched)
        errors = max(errors, run.errors)
    return pages, new, errors
