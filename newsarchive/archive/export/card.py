"""The dataset card: a Markdown page beside the data saying what is in it and how it was made.

Counted while the rows are written (no second pass over the archive): rows per source, language
and month (publication date, else first seen, UTC), how many rows have each exported field
filled, where publication dates came from, and how many rows are copies or have copies. The
query, the filters and the manifest's checksums make the card a reproducible description.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from newsarchive.archive.export.rows import RowStream

logger = logging.getLogger(__name__)

CARD_EXTRAS = ("source", "lang", "effective_date", "date_source", "duplicate_kind")


@dataclass(slots=True)
class CardStats:
    """Running counts over the exported rows."""

    rows: int = 0
    sources: Counter[str] = field(default_factory=Counter)
    langs: Counter[str] = field(default_factory=Counter)
    months: Counter[str] = field(default_factory=Counter)
    date_sources: Counter[str] = field(default_factory=Counter)
    copy_kinds: Counter[str] = field(default_factory=Counter)
    filled: Counter[str] = field(default_factory=Counter)
    copies_linked: int | None = None  # the sum of duplicate_count, when it is exported

    def observe(self, stream: RowStream, batch: Iterable[tuple[Any, ...]]) -> None:
        src, lang, when, dsrc, kind = (stream.pos(n) for n in CARD_EXTRAS)
        names = [f.name for f in stream.fields]
        count_at = names.index("duplicate_count") if "duplicate_count" in names else None
        if count_at is not None and self.copies_linked is None:
            self.copies_linked = 0
        for row in batch:
            self.rows += 1
            self.sources[row[src]] += 1
            self.langs[row[lang] or "unknown"] += 1
            self.months[row[when].strftime("%Y-%m") if row[when] else "unknown"] += 1
            self.date_sources[row[dsrc] or "none"] += 1
            if row[kind]:
                self.copy_kinds[row[kind]] += 1
            if count_at is not None:
                self.copies_linked = (self.copies_linked or 0) + int(row[count_at] or 0)
            for i, name in enumerate(names):
                value = row[i]
                if value not in (None, "", [], "[]"):  # "[]": a list read as JSON text
                    self.filled[name] += 1


def _share(n: int, total: int) -> str:
    return f"{100 * n / total:.1f} %" if total else "-"


def _table(title: str, header: str, counts: Iterable[tuple[str, int]], total: int) -> list[str]:
    lines = [f"### {title}", "", f"| {header} | rows | share |", "|---|---:|---:|"]
    lines += [f"| {key} | {n} | {_share(n, total)} |" for key, n in counts]
    return [*lines, ""]


def render_card(stats: CardStats, manifest: dict[str, Any]) -> str:
    """The card's Markdown, from the running counts and the finished manifest."""
    copies_linked = stats.copies_linked
    total = stats.rows
    filters = {k: v for k, v in manifest["filters"].items() if v not in (None, False)}
    lines = [
        f"# Dataset card: {manifest.get('file') or manifest.get('directory')}",
        "",
        f"Exported by newsarchive {manifest['newsarchive_version']} on {manifest['created_at']}"
        f" from an archive at schema {manifest['schema_revision']}; export schema version "
        f"{manifest['schema']['version']}, format `{manifest['format']}`"
        + (f", partitioned by {manifest['partition_by']}" if manifest.get("partition_by") else "")
        + ".",
        "",
        "## Selection",
        "",
        f"- query: {manifest['filters'].get('query') or '(none: every article)'}",
        f"- filters: {', '.join(f'{k}={v}' for k, v in filters.items() if k != 'query') or 'none'}",
        f"- rows: {total}, in id order",
        "",
        "## Contents",
        "",
    ]
    lines += _table("Rows per source", "source", sorted(stats.sources.items()), total)
    lines += _table("Rows per language", "lang", sorted(stats.langs.items()), total)
    lines += _table(
        "Rows per month (published, else first seen; UTC)",
        "month",
        sorted(stats.months.items()),
        total,
    )
    lines += _table(
        "Where publication dates came from (`date_source`)",
        "date_source",
        stats.date_sources.most_common(),
        total,
    )
    lines += [
        "### Copies",
        "",
        f"- rows that are copies of another article: {sum(stats.copy_kinds.values())}"
        + (
            " (" + ", ".join(f"{k} {n}" for k, n in sorted(stats.copy_kinds.items())) + ")"
            if stats.copy_kinds
            else ""
        ),
    ]
    if copies_linked is not None:
        lines.append(
            f"- copies linked to the exported rows (`duplicate_count` sum): {copies_linked}"
        )
    lines += [
        "",
        "## Field coverage",
        "",
        "| field | type | filled | share |",
        "|---|---|---:|---:|",
    ]
    for f in manifest["schema"]["fields"]:
        n = stats.filled[f["name"]]
        lines.append(f"| `{f['name']}` | {f['type']} | {n} | {_share(n, total)} |")
    lines += ["", "## Files and checksums", "", "| file | rows | sha256 |", "|---|---:|---|"]
    for entry in manifest["files"]:
        lines.append(f"| `{entry['path']}` | {entry['rows']} | `{entry['sha256']}` |")
    lines += [
        "",
        (
            "The manifest beside the data has the same checksums and each field's meaning; "
            "re-running the same export on the same archive gives the same files."
        ),
        "",
    ]
    return "\n".join(lines)
