"""Export files: what -o may overwrite, partitions, the dataset card, and the loaders reading them."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from typing import TYPE_CHECKING

import duckdb
import polars as pl
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from newsarchive.archive.export import export_to_file, parse_field_list
from newsarchive.archive.search import SearchFilters
from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from click.testing import Result

    from newsarchive.archive import Archive

EVERY = SearchFilters(include_duplicates=True)


def test_output_never_overwrites_the_archive_or_a_stranger(
    rich: Archive, sqlite_url: str, invoke: Callable[..., Result], tmp_path: Path
) -> None:
    from newsarchive.archive import open_archive

    arch = open_archive(sqlite_url)
    arch.dispose()
    before = (tmp_path / "archive.db").read_bytes()
    for extra in ((), ("--force",)):
        refused = invoke("export", "--db", sqlite_url, "-o", sqlite_url, *extra)
        assert refused.exit_code == 2
        assert "is the archive itself" in refused.output
    assert (tmp_path / "archive.db").read_bytes() == before
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes", encoding="utf-8")
    refused = invoke("export", "--db", sqlite_url, "-o", str(notes))
    assert refused.exit_code == 2
    assert "not a previous export" in refused.output
    assert notes.read_text(encoding="utf-8") == "my notes"
    forced = invoke("export", "--db", sqlite_url, "-o", str(notes), "--force")
    assert forced.exit_code == 0, forced.output
    # a previous export (its manifest beside it) is replaced without --force
    again = invoke("export", "--db", sqlite_url, "-o", str(notes))
    assert again.exit_code == 0, again.output
    assert not list(tmp_path.glob("*.partial"))


def test_partitioned_directory_refuses_a_foreign_directory(rich: Archive, tmp_path: Path) -> None:
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    with rich.session() as s, pytest.raises(ConfigError, match="not a previous export"):
        export_to_file(s, "jsonl", foreign, EVERY, partition_by="lang")
    assert [p.name for p in foreign.iterdir()] == ["cat.jpg"]


@pytest.mark.parametrize("key", ["month", "source", "lang"])
def test_parquet_partitions_are_hive_directories(rich: Archive, tmp_path: Path, key: str) -> None:
    out = tmp_path / "ds"
    with rich.session() as s:
        result = export_to_file(s, "parquet", out, EVERY, partition_by=key)
        whole = export_to_file(s, "parquet", tmp_path / "whole.parquet", EVERY)
    expected = {
        "month": {"month=2024-04": 2, "month=2024-05": 1},
        "source": {"source=autodaily": 1, "source=autoitalia": 1, "source=motorwire": 1},
        "lang": {"lang=en": 2, "lang=it": 1},
    }[key]
    assert {f["path"].split("/")[0]: f["rows"] for f in result.files} == expected
    assert all(f["path"].endswith("/part-0.parquet") for f in result.files)
    for entry in result.files:
        data = (out / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    # the partitions together are the unpartitioned export
    parts = pads.dataset(out, format="parquet", partitioning="hive").to_table()
    assert sorted(parts.column("id").to_pylist()) == pq.read_table(whole.path)["id"].to_pylist()
    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["partition_by"] == key
    assert manifest["rows"] == 3


def test_jsonl_and_csv_partitions_are_files(rich: Archive, tmp_path: Path) -> None:
    with rich.session() as s:
        jsonl = export_to_file(s, "jsonl", tmp_path / "j", EVERY, partition_by="source")
        table = export_to_file(s, "csv", tmp_path / "c", EVERY, partition_by="lang")
    assert sorted(f["path"] for f in jsonl.files) == [
        "source=autodaily.jsonl",
        "source=autoitalia.jsonl",
        "source=motorwire.jsonl",
    ]
    rows = (tmp_path / "j" / "source=motorwire.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(r)["source"] for r in rows] == ["motorwire"]
    assert sorted(f["path"] for f in table.files) == ["lang=en.csv", "lang=it.csv"]
    text = (tmp_path / "c" / "lang=en.csv").read_text(encoding="utf-8")
    assert len(list(csv.reader(io.StringIO(text, newline="")))) == 3  # header + 2 rows


def test_reexport_into_a_partition_directory_drops_stale_partitions(
    rich: Archive, tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    with rich.session() as s:
        export_to_file(s, "parquet", out, EVERY, partition_by="lang")
        export_to_file(s, "parquet", out, SearchFilters(lang="it"), partition_by="lang")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.parquet")) == [
        "lang=it/part-0.parquet"
    ]


def test_dataset_card(rich: Archive, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    with rich.session() as s:
        result = export_to_file(
            s,
            "parquet",
            out,
            EVERY,
            "renault OR notizia",
            fields=parse_field_list("id,title,published,date_source,duplicate_count,image"),
            partition_by="month",
            card=True,
        )
    assert result.card_path == out / "_card.md"
    card = result.card_path.read_text(encoding="utf-8")
    manifest = json.loads(result.manifest_path.read_text(encoding="utf-8"))
    assert "- query: renault OR notizia" in card
    assert "- filters: include_duplicates=True" in card
    assert "| autodaily | 1 | 33.3 % |" in card
    assert "| en | 2 | 66.7 % |" in card
    assert "| 2024-04 | 2 | 66.7 % |" in card
    assert "| 2024-05 | 1 | 33.3 % |" in card
    assert "| jsonld | 1 | 33.3 % |" in card
    assert "| none | 1 | 33.3 % |" in card  # the dateless article
    assert "copies of another article: 1 (near 1)" in card
    assert "`duplicate_count` sum): 1" in card
    assert "| `image` | string | 1 | 33.3 % |" in card
    assert "| `published_offset` | integer | 2 | 66.7 % |" in card
    for entry in manifest["files"]:
        assert f"| `{entry['path']}` | {entry['rows']} | `{entry['sha256']}` |" in card
    with rich.session() as s:
        single = export_to_file(s, "jsonl", tmp_path / "a.jsonl", EVERY, card=True)
    assert single.card_path == tmp_path / "a.jsonl.card.md"
    assert single.sha256 in single.card_path.read_text(encoding="utf-8")


def test_loaders_read_the_files(rich: Archive, tmp_path: Path) -> None:
    """The one-liners README shows, run as written."""
    with rich.session() as s:
        export_to_file(s, "parquet", tmp_path / "ds", EVERY, partition_by="source")
        export_to_file(s, "parquet", tmp_path / "a.parquet", EVERY)
        export_to_file(s, "jsonl", tmp_path / "a.jsonl", EVERY)
        export_to_file(s, "csv", tmp_path / "a.csv", EVERY)
    ds = tmp_path / "ds"
    rows = duckdb.sql(
        f"SELECT source, count(*) AS n FROM read_parquet('{ds}/**/*.parquet', "
        "hive_partitioning=true) GROUP BY source ORDER BY source"
    ).fetchall()
    assert rows == [("autodaily", 1), ("autoitalia", 1), ("motorwire", 1)]
    ((published,),) = duckdb.sql(
        f"SELECT published FROM read_parquet('{tmp_path}/a.parquet') ORDER BY id LIMIT 1"
    ).fetchall()
    assert published.utcoffset() is not None  # a timestamp with time zone
    frame = pl.read_parquet(f"{ds}/**/*.parquet", hive_partitioning=True)
    assert frame.height == 3
    assert frame.schema["authors"] == pl.List(pl.String)
    assert str(frame.schema["published"]) == "Datetime(time_unit='us', time_zone='UTC')"
    assert pl.read_ndjson(tmp_path / "a.jsonl")["id"].to_list() == sorted(frame["id"].to_list())
    assert pl.read_csv(tmp_path / "a.csv").height == 3
    table = pads.dataset(ds, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 3
    assert duckdb.sql(f"SELECT count(*) FROM read_json('{tmp_path}/a.jsonl')").fetchall() == [(3,)]


def test_pandas_and_hugging_face_datasets_read_the_files(
    rich: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pandas and ``datasets.load_dataset("parquet", data_files=...)``, offline, as README shows."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import pandas as pd
    from datasets import load_dataset

    with rich.session() as s:
        export_to_file(s, "parquet", tmp_path / "ds", EVERY, partition_by="month")
        export_to_file(s, "jsonl", tmp_path / "a.jsonl", EVERY)
    frame = pd.read_json(tmp_path / "a.jsonl", lines=True)
    assert len(frame) == 3
    assert list(frame.columns)[:3] == ["id", "url", "canonical_url"]
    loaded = load_dataset(
        "parquet",
        data_files=str(tmp_path / "ds" / "**" / "*.parquet"),
        cache_dir=str(tmp_path / "hf-cache"),
    )["train"]
    assert loaded.num_rows == 3
    assert str(loaded.features["published"].dtype) == "timestamp[us, tz=UTC]"
    assert sorted(loaded["id"]) == sorted(frame["id"].tolist())
