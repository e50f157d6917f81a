"""Every schema field, in every format: names, order, types and values survive the round trip."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from newsarchive.archive.export import SCHEMA, export_to_file, parse_field_list, write_export
from newsarchive.archive.search import SearchFilters
from newsarchive.errors import ConfigError

from .conftest import FORMULAS

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from click.testing import Result

    from newsarchive.archive import Archive

ALL = [f.name for f in SCHEMA]
EVERY = SearchFilters(include_duplicates=True)


def _jsonl(archive: Archive, fields: str, filters: SearchFilters = EVERY) -> list[dict]:
    buf = io.BytesIO()
    with archive.session() as s:
        write_export(s, "jsonl", buf, filters, None, parse_field_list(fields))
    return [json.loads(line) for line in buf.getvalue().decode("utf-8").splitlines()]


def test_jsonl_every_field_with_its_value(rich: Archive) -> None:
    first, copy, dateless = _jsonl(rich, "all")
    assert list(first) == ALL
    assert first["published"] == "2024-04-26T10:40:00+02:00"  # the publisher's offset
    assert first["published_offset"] == 120
    assert copy["published"] == "2024-04-26T10:00:00-05:00"
    assert dateless["published"] is None
    assert dateless["published_offset"] is None
    assert first["date_source"] == "jsonld"
    assert first["date_flags"] == ["future"]
    assert first["modified"] == "2024-04-26T09:00:00+00:00"
    assert first["authors"] == ["Claire Fontaine", "-Dash Start"]
    assert first["organisations"] == ["Reuters"]
    assert first["companies"] == ["Renault", "Xiaomi"]
    assert (first["section"], first["description"], first["image"]) == (
        FORMULAS["section"],
        FORMULAS["description"],
        FORMULAS["image"],
    )
    assert first["tags"] == ["EV", "=tag"]
    assert first["topics"] == ["ev", "software"]  # sorted
    assert copy["topics"] == []
    assert first["word_count"] == 10
    assert first["version"] == 2
    assert first["first_seen"] == "2024-04-26T09:00:00+00:00"
    assert first["last_seen"] == first["fetched_at"] == "2024-04-27T09:00:00+00:00"
    assert (first["duplicate_count"], first["duplicate_of"], first["duplicate_kind"]) == (
        1,
        None,
        None,
    )
    assert (copy["duplicate_of"], copy["duplicate_kind"], copy["duplicate_score"]) == (
        first["id"],
        "near",
        pytest.approx(0.83),
    )
    # the JSON text is what the archive holds: no formula escaping outside CSV
    assert first["title"] == FORMULAS["title"]


def test_fields_are_chosen_and_ordered(rich: Archive) -> None:
    rows = _jsonl(rich, "title,id,date_source")
    assert [list(r) for r in rows] == [["title", "id", "date_source"]] * 3
    assert rows[2] == {"title": "Notizia senza data", "id": rows[2]["id"], "date_source": None}
    with pytest.raises(ConfigError, match="unknown field 'titel'"):
        parse_field_list("id,titel")
    with pytest.raises(ConfigError, match="given twice"):
        parse_field_list("id,id")


def test_parquet_every_field_typed(rich: Archive, tmp_path: Path) -> None:
    with rich.session() as s:
        result = export_to_file(
            s, "parquet", tmp_path / "all.parquet", EVERY, fields=parse_field_list("all")
        )
    table = pq.read_table(result.path)
    assert table.schema.names == ALL
    ts = pa.timestamp("us", tz="UTC")
    for name in ("published", "modified", "fetched_at", "first_seen", "last_seen"):
        assert table.schema.field(name).type == ts, name
    for name in ("authors", "organisations", "companies", "tags", "date_flags", "topics"):
        assert table.schema.field(name).type == pa.list_(pa.string()), name
    for name in ("id", "word_count", "version", "duplicate_count", "published_offset"):
        assert table.schema.field(name).type == pa.int64(), name
    assert table.schema.field("duplicate_score").type == pa.float64()
    assert not table.schema.field("id").nullable
    assert table.schema.field("title").nullable
    first, copy, _ = table.to_pylist()
    assert first["published"] == datetime(2024, 4, 26, 8, 40, tzinfo=UTC)
    assert first["published_offset"] == 120
    assert copy["published_offset"] == -300
    assert first["companies"] == ["Renault", "Xiaomi"]
    assert (first["topics"], copy["topics"]) == (["ev", "software"], [])
    assert copy["duplicate_score"] == pytest.approx(0.83)
    # every field's meaning travels in the file too
    described = json.loads(table.schema.metadata[b"newsarchive.fields"])
    assert [d["name"] for d in described] == ALL
    # and in the manifest, with the schema version
    manifest = json.loads(result.manifest_path.read_text(encoding="utf-8"))
    assert [f["name"] for f in manifest["schema"]["fields"]] == ALL
    assert all(f["meaning"] and f["type"] for f in manifest["schema"]["fields"])


def test_csv_escapes_formulas_and_reads_back(rich: Archive) -> None:
    buf = io.BytesIO()
    with rich.session() as s:
        write_export(s, "csv", buf, EVERY, None, parse_field_list("all"))
    table = list(csv.reader(io.StringIO(buf.getvalue().decode("utf-8"), newline="")))
    assert table[0] == ALL
    first, copy, dateless = (dict(zip(ALL, row, strict=True)) for row in table[1:])
    for name, value in FORMULAS.items():
        assert first[name] == "'" + value, name  # a leading quote: text, not a formula
    assert first["authors"] == "Claire Fontaine; -Dash Start"  # starts with C: unchanged
    assert first["tags"] == "EV; =tag"
    assert first["topics"] == "ev; software"
    assert first["body"] == "Renault met Xiaomi in Beijing.\nThe talks were about software."
    assert copy["published_offset"] == "-300"  # a number, never escaped
    assert copy["published"] == "2024-04-26T10:00:00-05:00"
    assert dateless["published"] == ""
    assert dateless["authors"] == ""
    # what a reader gets back without the quote is exactly the archive's text
    assert first["title"][1:] == FORMULAS["title"]


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        ("", ""),
    ],
)
def test_csv_safe(value: str, escaped: str) -> None:
    from newsarchive.archive.export.writers import csv_safe

    assert csv_safe(value) == escaped


def test_cli_fields_option(rich: Archive, invoke: Callable[..., Result], archive_url: str) -> None:
    result = invoke("export", "--db", archive_url, "--fields", "id,published,date_source")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["published"] for r in rows] == ["2024-04-26T10:40:00+02:00", None]
    bad = invoke("export", "--db", archive_url, "--fields", "id,nope")
    assert bad.exit_code == 2
    assert "unknown field 'nope'" in bad.output
