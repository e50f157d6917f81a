"""``crawl`` argument handling and ``runs`` output, all settled before any crawl starts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from newsarchive.archive.runs import RunCounts, finish_run, start_run
from newsarchive.discovery.sources import load_sources, select_sources
from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from click.testing import Result

    from newsarchive.archive import Archive

EXTRA = """
[sources.local-wire]
display_name = "Local Wire"
homepage = "https://wire.example/"
language = "en"
country = "GB"

[sources.autocar]
display_name = "Autocar (mirror)"
homepage = "https://autocar-mirror.example/"
language = "en"
country = "GB"
"""


@pytest.fixture
def extra(tmp_path: Path) -> Path:
    path = tmp_path / "extra.toml"
    path.write_text(EXTRA, encoding="utf-8")
    return path


def test_select_sources_keeps_order_and_lets_the_extra_file_override(extra: Path) -> None:
    picked = select_sources(["local-wire", "autocar", "local-wire"], extra)
    assert [s.name for s in picked] == ["local-wire", "autocar"]
    assert picked[1].homepage == "https://autocar-mirror.example/"
    assert select_sources(None, extra) == list(load_sources(extra).values())


def test_select_sources_names_every_unknown_source_at_once() -> None:
    with pytest.raises(ConfigError, match=r"^unknown source\(s\): nope, nada \(see `newsarchive"):
        select_sources(["nope", "autocar", "nada"], None)


def test_crawl_refuses_unknown_sources_in_one_line(
    tmp_path: Path, invoke: Callable[..., Result]
) -> None:
    db = tmp_path / "a.db"
    result = invoke("crawl", "--source", "nope", "--source", "nada", "--db", str(db))
    assert result.exit_code == 2
    assert result.output.startswith("error: unknown source(s): nope, nada (see")
    assert not db.exists()  # refused before the archive was touched


def test_resume_of_a_run_whose_sources_left_the_registry(
    archive: Archive, archive_url: str, invoke: Callable[..., Result]
) -> None:
    with archive.session() as s:
        run_id = start_run(s, job="nightly", arguments={"sources": ["gone", "autocar"]}, sources=[])
        finish_run(s, run_id, status="interrupted", counts=RunCounts(), stats={})
    result = invoke("crawl", "--resume", "--job", "nightly", "--db", archive_url)
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot resume: unknown source(s): gone (see")


def test_runs_json_is_one_object_per_line_with_iso_dates(
    archive: Archive, archive_url: str, invoke: Callable[..., Result]
) -> None:
    with archive.session() as s:
        for job in ("a", "b"):
            run_id = start_run(s, job=job, arguments={}, sources=["zoë-motori"])
            finish_run(s, run_id, status="ok", counts=RunCounts(pages_fetched=3), stats={})
    result = invoke("runs", "--json", "--db", archive_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["job"] for r in rows] == ["b", "a"]
    assert list(rows[0]) == sorted(rows[0])
    assert rows[0]["started_at"][:4].isdigit()
    assert rows[0]["started_at"] <= rows[0]["ended_at"]
    assert "zoë-motori" in lines[0]  # text as written, not \\u-escaped
    health = invoke("runs", "--health", "--json", "--db", archive_url)
    [row] = [json.loads(line) for line in health.output.splitlines()]
    assert (row["source"], row["runs"], row["last_run_at"][:2]) == ("zoë-motori", 2, "20")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # regression: a URL with a space crawled nothing and reported "ok"
        (["http://exa mple.com/"], "is not an http(s) URL with a host"),
        (["http://example.com:port/"], "is not an http(s) URL with a host"),
        (["--all-sources", "--source", "autocar"], "--all-sources and --source exclude"),
        (
            ["https://example.com/", "--redis", "redis://127.0.0.1:6379/0", "--job", "j"],
            "--redis needs a PostgreSQL archive",
        ),
    ],
)
def test_bad_crawl_arguments_fail_before_crawling(
    args: list[str], message: str, invoke: Callable[..., Result], tmp_path: Path
) -> None:
    db = tmp_path / "news.db"
    result = invoke("crawl", *args, "--db", str(db))
    assert result.exit_code == 2
    assert message in result.output
    assert not db.exists()
