"""The foundation's user path end to end: crawl the bundled demo web twice through the real CLI
(subprocesses, real loopback servers, real archive on each backend), then search and export."""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
from support.cli import run_cli

from newsarchive.demo import EXPECTED

if TYPE_CHECKING:
    from pathlib import Path

    from newsarchive.demo.server import LocalWeb

EXPORT_FIELDS = {
    "id": int,
    "url": str,
    "canonical_url": str,
    "source": str,
    "title": str,
    "body": str,
    "published": (str, type(None)),
    "authors": list,
    "lang": (str, type(None)),
    "fetched_at": str,
    "content_sha256": str,
    "duplicate_count": int,
    "duplicate_of": (int, type(None)),
}


newsarchive = partial(run_cli, check=True, timeout=240)


@pytest.fixture
def sources_file(demo_web: LocalWeb, tmp_path: Path) -> Path:
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))["sites"]
    lines = []
    for name, info in expected.items():
        lines += [
            f"[sources.{name}]",
            f'display_name = "{info["name"]}"',
            f'homepage = "{demo_web.url(name)}"',
            f'language = "{info["language"]}"',
            'country = "INT"',
            "",
        ]
    path = tmp_path / "demo-sources.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def expected_articles() -> list[dict[str, Any]]:
    sites = json.loads(EXPECTED.read_text(encoding="utf-8"))["sites"]
    return [dict(a, site=name) for name, info in sites.items() for a in info["articles"]]


def test_demo_web_crawled_twice_searched_and_exported(
    archive_url: str, sources_file: Path, demo_web: LocalWeb, tmp_path: Path
) -> None:
    crawl = [
        "crawl",
        *("--source", "autodaily", "--source", "motorwire", "--source", "autoitalia"),
        "--sources-file",
        str(sources_file),
        "--db",
        archive_url,
        "--local",
        "--json",
    ]
    first = json.loads(newsarchive(*crawl).stdout)
    articles = expected_articles()
    assert first["status"] == "ok"
    # every article page is stored as a row; syndicated copies are also linked to their original
    assert first["articles_new"] == len(articles)
    assert first["duplicates"] >= 1

    second = json.loads(newsarchive(*crawl).stdout)
    assert second["status"] == "ok"
    assert second["articles_new"] == 0
    assert second["duplicates"] == 0

    stats = json.loads(newsarchive("stats", "--db", archive_url, "--json").stdout)
    assert stats["articles"] == len(articles)

    hits = json.loads(
        newsarchive("search", "Renault", "Xiaomi", "--db", archive_url, "--json").stdout
    )
    original = next(a for a in articles if a["site"] == "autodaily" and "Xiaomi" in a["title"])
    top_urls = [h["canonical_url"] for h in hits]
    assert demo_web.url("autodaily", original["path"]) in top_urls
    # reworded republications and translations are syndicated copies of the original
    copies = [a for a in articles if a.get("copy_of") or a.get("translation_of")]
    assert copies, "the demo web must republish at least one article"
    for copy in copies:
        assert demo_web.url(copy["site"], copy["path"]) not in top_urls

    out = tmp_path / "export.jsonl"
    newsarchive("export", "--format", "jsonl", "-o", str(out), "--db", archive_url)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows
    for row in rows:
        assert list(row) == list(EXPORT_FIELDS)
        for field, types in EXPORT_FIELDS.items():
            assert isinstance(row[field], types), (field, row[field])
        assert all(isinstance(a, str) for a in row["authors"])
    exported = [r["canonical_url"] for r in rows]
    assert len(exported) == len(set(exported))
    for copy in copies:
        assert demo_web.url(copy["site"], copy["path"]) not in exported
    assert len(rows) == len(articles) - len(copies)
