"""Layout-change alarms: field coverage and article counts per source and run.

Sites redesign, and extraction then degrades without an error: the bylines vanish, the body
shrinks to a teaser, the date moves out of the markup. The only cheap way to see it is to
compare each run of a source with the source's own recent runs (spidermon's field-coverage and
job-comparison monitors do the same). The store stage counts, per source, the articles it
stored and how many of them had a title, a publication date, authors, a language, and how many
body characters they carried; the counts land in the run's stats (``crawl_runs.stats``), so
no schema is needed and old runs simply have none.

A source is flagged when, in its latest run with at least ``MIN_ARTICLES`` articles, a field's
coverage is more than ``COVERAGE_DROP`` (absolute) below the median of its previous runs, its
mean body length is under ``BODY_SHARE`` of the median, or its article count is under
``COUNT_SHARE`` of the median (judged only when that median is at least ``MIN_ARTICLES``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import TYPE_CHECKING, Any

from newsarchive.contracts import COVERAGE_PREFIX

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from newsarchive.items import Article

# the keys are newsarchive.contracts.coverage(source, name)
FIELDS = ("title", "published", "authors", "lang")
MIN_ARTICLES = 3  # fewer articles in a run say nothing about coverage
COVERAGE_DROP = 0.3  # e.g. bylines on 95 % of the articles, then on 60 %: flagged
BODY_SHARE = 0.5  # mean body length under half the usual: flagged
COUNT_SHARE = 0.25  # a quarter of the usual article count: flagged
BASELINE_RUNS = 5  # previous runs whose median is the baseline


def coverage_counts(article: Article) -> dict[str, int]:
    """What one stored article adds to its source's counters."""
    return {
        "articles": 1,
        "title": int(bool((article.title or "").strip())),
        "published": int(article.published is not None),
        "authors": int(bool(article.authors)),
        "lang": int(bool(article.lang)),
        "body_chars": len(article.body),
    }


@dataclass(slots=True)
class RunCoverage:
    """One source in one run: articles stored and the share of them with each field."""

    run_id: int
    articles: int
    shares: dict[str, float] = field(default_factory=dict)
    body_chars: float = 0.0  # mean per article

    @classmethod
    def from_stats(cls, run_id: int, stats: Mapping[str, Any], source: str) -> RunCoverage | None:
        prefix = f"{COVERAGE_PREFIX}{source}/"
        if prefix + "pages" not in stats:
            return None  # a run from before coverage was recorded, or one that stored nothing
        articles = int(stats.get(prefix + "articles", 0) or 0)
        per = max(articles, 1)
        return cls(
            run_id=run_id,
            articles=articles,
            shares={f: int(stats.get(prefix + f, 0) or 0) / per for f in FIELDS},
            body_chars=int(stats.get(prefix + "body_chars", 0) or 0) / per,
        )


@dataclass(slots=True)
class CoverageVerdict:
    """The latest judged run of a source against the median of the runs before it."""

    latest: RunCoverage | None
    baseline_articles: float | None = None
    baseline_shares: dict[str, float] = field(default_factory=dict)
    baseline_body_chars: float | None = None
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        latest = self.latest
        return {
            "run_id": latest.run_id if latest else None,
            "articles": latest.articles if latest else None,
            "shares": {k: round(v, 3) for k, v in latest.shares.items()} if latest else {},
            "body_chars": round(latest.body_chars) if latest else None,
            "baseline_articles": self.baseline_articles,
            "baseline_shares": {k: round(v, 3) for k, v in self.baseline_shares.items()},
            "baseline_body_chars": (
                round(self.baseline_body_chars) if self.baseline_body_chars is not None else None
            ),
        }


def judge_coverage(history: Sequence[RunCoverage]) -> CoverageVerdict:
    """``history`` newest first. Problems: ``coverage_drop/FIELD``, ``body_shrank``,
    ``count_drop``."""
    if not history:
        return CoverageVerdict(None)
    latest, earlier = history[0], list(history[1 : 1 + BASELINE_RUNS])
    verdict = CoverageVerdict(latest)
    if not earlier:
        return verdict
    verdict.baseline_articles = float(median(r.articles for r in earlier))
    if verdict.baseline_articles >= MIN_ARTICLES and latest.articles < (
        COUNT_SHARE * verdict.baseline_articles
    ):
        verdict.problems.append("count_drop")
    judged = [r for r in earlier if r.articles >= MIN_ARTICLES]
    if latest.articles < MIN_ARTICLES or not judged:
        return verdict
    for name in FIELDS:
        usual = float(median(r.shares.get(name, 0.0) for r in judged))
        verdict.baseline_shares[name] = usual
        if latest.shares.get(name, 0.0) < usual - COVERAGE_DROP:
            verdict.problems.append(f"coverage_drop/{name}")
    verdict.baseline_body_chars = float(median(r.body_chars for r in judged))
    if latest.body_chars < BODY_SHARE * verdict.baseline_body_chars:
        verdict.problems.append("body_shrank")
    return verdict
