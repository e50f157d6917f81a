from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import insert
from support.rows import source_id

from newsarchive import __version__
from newsarchive.archive.export import FIELD_NAMES, export_to_file, write_export
from newsarchive.archive.models import Article, ArticleCompany, Duplicate
from newsarchive.archive.search import SearchFilters
from newsarchive.errors import QuerySyntaxError

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session

    from newsarchive.archive import Archive

EXPECTED_FIELDS = [
    "id",
    "url",
    "canonical_url",
    "source",
    "title",
    "body",
    "published",
    "authors",
    "lang",
    "fetched_at",
    "content_sha256",
    "duplicate_count",
    "duplicate_of",
]
T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def _rows(session: Session, source: str, start: int, count: int, body_size: int = 60) -> None:
    """Bulk-insert ``count`` articles numbered from ``start`` (real rows, FTS kept by the DB)."""
    sid = source_id(session, source)
    filler = "Zulieferer Batterie électrique città " * (body_size // 36 + 1)
    session.execute(
        insert(Article),
        [
            {
                "source_id": sid,
                "url": f"https://{source}.example/a/{n}",
                "canonical_url": f"https://{source}.example/a/{n}",
                "title": f"Story {n}",
                "body": f"Story number {n}. " + filler[:body_size],
                "published": T0 + timedelta(hours=n) if n % 3 else None,
                "authors": ["Jean Dupont", "Ada Rossi"] if n % 2 else [],
                "lang": "de" if n % 2 else "fr",
                "content_sha256": hashlib.sha256(str(n).encode()).hexdigest(),
                "first_seen": T0,
                "last_seen": T0 + timedelta(days=1, microseconds=n),
                "word_count": 10,
            }
            for n in range(start, start + count)
        ],
    )


@pytest.fixture
def small(archive: Archive) -> Archive:
    with archive.session() as s:
        _rows(s, "autoblog", 1, 6)
        s.add(Duplicate(article_id=2, original_id=1, kind="exact", score=1.0))
        s.add(Duplicate(article_id=3, original_id=1, kind="near", score=0.9))
        s.add(ArticleCompany(article_id=4, company="Renault"))
    return archive


def _jsonl(archive: Archive, filters: SearchFilters, query: str | None = None) -> list[dict]:
    buf = io.BytesIO()
    with archive.session() as s:
        n = write_export(s, "jsonl", buf, filters, query)
    lines = buf.getvalue().decode("utf-8").splitlines()
    assert len(lines) == n
    return [json.loads(line) for line in lines]


def test_jsonl_fields_order_and_values(small: Archive) -> None:
    rows = _jsonl(small, SearchFilters())
    assert [r["id"] for r in rows] == [1, 4, 5, 6]
    assert list(rows[0]) == EXPECTED_FIELDS == list(FIELD_NAMES)
    first = rows[0]
    assert first["published"] == "2024-05-01T10:30:00Z"  # no offset known: UTC, Z
    assert first["fetched_at"] == "2024-05-02T09:30:00.000001+00:00"
    assert first["authors"] == ["Jean Dupont", "Ada Rossi"]
    assert (first["duplicate_count"], first["duplicate_of"]) == (2, None)
    assert first["source"] == "autoblog"
    assert first["content_sha256"] == hashlib.sha256(b"1").hexdigest()
    assert [r["published"] is None for r in rows] == [False, False, False, True]  # n % 3 == 0


def test_filters_query_and_duplicates(small: Archive) -> None:
    every = _jsonl(small, SearchFilters(include_duplicates=True))
    assert [(r["id"], r["duplicate_of"]) for r in every][:3] == [(1, None), (2, 1), (3, 1)]
    assert [r["id"] for r in _jsonl(small, SearchFilters(lang="fr"))] == [4, 6]
    assert [r["id"] for r in _jsonl(small, SearchFilters(company="renault"))] == [4]
    assert [r["id"] for r in _jsonl(small, SearchFilters(), 'story 5 OR "number 6"')] == [5, 6]
    assert [r["id"] for r in _jsonl(small, SearchFilters(), "città -story")] == []
    assert [r["id"] for r in _jsonl(small, SearchFilters(), "citta")] == []  # accents matter
    with pytest.raises(QuerySyntaxError):
        _jsonl(small, SearchFilters(), "story OR")


def test_csv(small: Archive) -> None:
    buf = io.BytesIO()
    with small.session() as s:
        write_export(s, "csv", buf, SearchFilters(include_duplicates=True))
    table = list(csv.reader(io.StringIO(buf.getvalue().decode("utf-8"))))
    assert table[0] == EXPECTED_FIELDS
    by_id = {row[0]: dict(zip(EXPECTED_FIELDS, row, strict=True)) for row in table[1:]}
    assert by_id["1"]["authors"] == "Jean Dupont; Ada Rossi"
    assert by_id["2"]["authors"] == ""
    assert by_id["2"]["duplicate_of"] == "1"
    assert by_id["3"]["published"] == ""  # null
    assert by_id["1"]["duplicate_count"] == "2"


def test_parquet_schema_and_values(small: Archive, tmp_path: Path) -> None:
    with small.session() as s:
        result = export_to_file(s, "parquet", tmp_path / "out.parquet", SearchFilters())
    table = pq.read_table(result.path)
    # a UTC timestamp cannot hold the publisher's offset: Parquet carries it beside
    assert table.schema.names == [*EXPECTED_FIELDS[:7], "published_offset", *EXPECTED_FIELDS[7:]]
    assert str(table.schema.field("published").type) == "timestamp[us, tz=UTC]"
    authors_type = table.schema.field("authors").type
    assert pa.types.is_list(authors_type)
    assert authors_type.value_type == pa.string()
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == [1, 4, 5, 6]
    assert rows[0]["published"] == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert rows[0]["authors"] == ["Jean Dupont", "Ada Rossi"]
    assert rows[0]["duplicate_count"] == 2
    assert rows[3]["published"] is None


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_manifest_and_reproducible_files(small: Archive, tmp_path: Path, fmt: str) -> None:
    filters = SearchFilters(lang="de", include_duplicates=True)
    with small.session() as s:
        one = export_to_file(s, fmt, tmp_path / f"one.{fmt}", filters, "story")
    with small.session() as s:
        two = export_to_file(s, fmt, tmp_path / f"two.{fmt}", filters, "story")
    assert one.path.read_bytes() == two.path.read_bytes()
    manifest = json.loads(one.manifest_path.read_text(encoding="utf-8"))
    assert one.manifest_path.name == f"one.{fmt}.manifest.json"
    assert manifest["format"] == fmt
    assert manifest["rows"] == one.rows == 3
    assert manifest["sha256"] == hashlib.sha256(one.path.read_bytes()).hexdigest()
    assert manifest["newsarchive_version"] == __version__
    assert manifest["schema_revision"]
    assert manifest["filters"]["lang"] == "de"
    assert manifest["filters"]["query"] == "story"
    names = [f["name"] for f in manifest["fields"]]
    assert [n for n in names if n != "published_offset"] == EXPECTED_FIELDS
    assert ("published_offset" in names) == (fmt == "parquet")
    assert manifest["schema"]["version"] >= 2
    assert datetime.fromisoformat(manifest["created_at"]).tzinfo is not None
    assert not list(tmp_path.glob("*.partial"))


def _export_peak(archive: Archive, path: Path) -> tuple[int, int]:
    gc.collect()
    tracemalloc.start()
    try:
        with archive.session() as s:
            result = export_to_file(s, "jsonl", path, SearchFilters())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result.rows, peak


def test_export_memory_does_not_grow_with_rows(archive: Archive, tmp_path: Path) -> None:
    body = 2000
    with archive.session() as s:
        _rows(s, "big", 1, 1000, body_size=body)
    _export_peak(archive, tmp_path / "warm.jsonl")  # statement caches, imports
    rows_1k, peak_1k = _export_peak(archive, tmp_path / "1k.jsonl")
    with archive.session() as s:
        _rows(s, "big", 1001, 4000, body_size=body)
    rows_5k, peak_5k = _export_peak(archive, tmp_path / "5k.jsonl")
    assert (rows_1k, rows_5k) == (1000, 5000)
    # holding the 4000 extra rows would add > 8 MB; streaming keeps the peak flat
    print(f"export peak: 1k rows {peak_1k} B, 5k rows {peak_5k} B")
    assert peak_5k < peak_1k * 1.25 + 512 * 1024, (peak_1k, peak_5k)
    assert peak_5k < 4000 * body
