"""A Prometheus textfile (node_exporter's textfile collector) describing the last crawl.

Dashboards and alerting want numbers, not log lines: ``crawl --metrics-file PATH`` writes the
run's outcome, its counts, and per source the articles stored, the field coverage and the health
verdict of ``runs --health``. The file is replaced atomically (written next to it, then renamed),
as the collector requires, so it never reads half a file.
"""

from __future__ import annotations

import math
import os
import time
from typing import TYPE_CHECKING, Any

from newsarchive import contracts
from newsarchive.archive.fieldcoverage import FIELDS
from newsarchive.archive.runs import source_health
from newsarchive.contracts import Stat
from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from newsarchive.archive import Archive
    from newsarchive.run.crawl import CrawlSummary

STATUSES = ("ok", "partial", "failed", "interrupted")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _metric_lines(
    name: str, help_text: str, kind: str, samples: list[tuple[dict[str, str], float]]
) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        rendered = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        number = repr(float(value)) if not math.isinf(value) else "+Inf"
        lines.append(f"{name}{{{rendered}}} {number}" if rendered else f"{name} {number}")
    return lines


def render_metrics(
    summary: CrawlSummary,
    stats: dict[str, Any],
    job: str,
    health: list[Any],
    now: float | None = None,
) -> str:
    """The textfile's content (exposition format 0.0.4)."""
    j = {"job": job}
    out: list[str] = []
    out += _metric_lines(
        "newsarchive_crawl_last_run_timestamp_seconds",
        "When the last crawl of the job ended (Unix time).",
        "gauge",
        [(j, now if now is not None else time.time())],
    )
    out += _metric_lines(
        "newsarchive_crawl_status",
        "1 for the status of the last crawl (ok, partial, failed, interrupted).",
        "gauge",
        [({**j, "status": s}, float(summary.status == s)) for s in STATUSES],
    )
    counts = {
        "pages": summary.pages,
        "articles_new": summary.articles_new,
        "articles_updated": summary.articles_updated,
        "duplicates": summary.duplicates,
        "errors": summary.errors,
        "known_failures": summary.known_failures,
    }
    out += _metric_lines(
        "newsarchive_crawl_count",
        "Counts of the last crawl by kind.",
        "gauge",
        [({**j, "kind": k}, float(v)) for k, v in counts.items()],
    )
    out += _metric_lines(
        "newsarchive_crawl_duration_seconds",
        "Wall time of the last crawl.",
        "gauge",
        [(j, summary.seconds)],
    )
    out += _metric_lines(
        "newsarchive_archive_longest_outage_seconds",
        "Longest database outage the last crawl waited out.",
        "gauge",
        [(j, float(stats.get(Stat.ARCHIVE_LONGEST_OUTAGE, 0) or 0))],
    )
    articles, coverage = [], []
    for source in contracts.coverage_sources(stats):
        n = contracts.count(stats, contracts.coverage(source, "articles"))
        articles.append(({**j, "source": source}, float(n)))
        for f in FIELDS:
            share = contracts.count(stats, contracts.coverage(source, f)) / max(n, 1)
            coverage.append(({**j, "source": source, "field": f}, share))
    out += _metric_lines(
        "newsarchive_source_articles", "Articles stored per source in the last crawl.", "gauge",
        articles,
    )  # fmt: skip
    out += _metric_lines(
        "newsarchive_source_field_coverage",
        "Share of the source's articles in the last crawl that had the field.",
        "gauge",
        coverage,
    )
    out += _metric_lines(
        "newsarchive_source_healthy",
        "1 if runs --health finds the source healthy, else 0.",
        "gauge",
        [({**j, "source": h.source}, float(h.healthy)) for h in health],
    )
    return "\n".join(out) + "\n"


def write_metrics(
    path: Path,
    archive: Archive,
    summary: CrawlSummary,
    stats: dict[str, Any],
    *,
    job: str,
    sources: list[str],
) -> None:
    """Render and atomically replace ``path``; the health covers the run's ``sources``."""
    with archive.session() as session:
        health = source_health(session, sources=sources or None)
    text = render_metrics(summary, stats, job, health)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write the metrics file {path}: {exc.strerror}") from exc
