"""A page that hangs or kills the extractor costs that page only: the crawl goes on, the other
articles are stored, and the page is kept as a failed capture (through the real CLI)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from support.cli import cli_env, run_cli

from newsarchive.archive import open_archive
from newsarchive.archive.models import Article, Capture
from newsarchive.demo.server import LocalWeb, Site

PARAGRAPH = (
    "<p>Paragraph {n}: the supplier said its new electric drive unit plant would start series "
    "production next spring, with capacity for {n}00,000 units a year across two shifts.</p>"
)


def _article(slug: str, marker: str = "") -> str:
    return (
        f'<html lang="en"><head><title>Story {slug}</title>'
        f'<meta property="og:type" content="article"><meta property="og:title" content="Story {slug}">'
        '<meta property="article:published_time" content="2024-05-02T09:00:00+02:00"></head>'
        f"<body><article><h1>Story {slug}</h1><p>{marker}</p>{''.join(PARAGRAPH.format(n=n) for n in range(1, 9))}</article></body></html>"
    )


def test_hanging_and_crashing_pages_do_not_stop_the_crawl(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "news").mkdir(parents=True)
    pages = {
        "ok-1": "",
        "ok-2": "",
        "ok-3": "",
        "hangs": "HANG-THE-EXTRACTOR",
        "kills": "KILL-THE-EXTRACTOR",
    }
    for slug, marker in pages.items():
        (site / "news" / f"{slug}.html").write_text(_article(slug, marker), encoding="utf-8")
    links = "".join(f'<li><a href="/news/{slug}.html">Story {slug}</a></li>' for slug in pages)
    (site / "index.html").write_text(
        f"<html><body><ul>{links}</ul></body></html>", encoding="utf-8"
    )
    db = str(tmp_path / "news.db")
    log = tmp_path / "crawl.log"
    # the sabotaged extractor is imported by the crawl's worker processes from this folder
    env = cli_env(PYTHONPATH=str(Path(__file__).parent))
    with LocalWeb([Site("plant", site)]) as web:
        hangs, kills = web.url("plant", "/news/hangs.html"), web.url("plant", "/news/kills.html")
        proc = run_cli(
            "crawl", web.url("plant"), "--db", db, "--local", "--json",
            "--log-file", str(log),
            "-s", "NEWSARCHIVE_EXTRACTOR=pool_helpers.sabotaged_extract",
            "-s", "NEWSARCHIVE_EXTRACT_TIMEOUT=3",
            env=env,
        )  # fmt: skip
    summary = json.loads(proc.stdout)
    assert proc.returncode == 1, proc.stderr  # partial: two pages failed
    assert summary["errors_by_kind"] == {"extraction": 2}
    archive = open_archive(db)
    with archive.session() as s:
        stored = set(s.scalars(select(Article.title)))
        failed = dict(
            s.execute(
                select(Capture.url, Capture.extraction_error).where(
                    Capture.extraction_status == "failed"
                )
            ).all()
        )
    archive.dispose()
    assert stored == {"Story ok-1", "Story ok-2", "Story ok-3"}
    assert failed[hangs].startswith("timeout after 3s")
    assert failed[kills].startswith("crashed: worker died")
    text = log.read_text(encoding="utf-8")
    assert f"extraction failed for {hangs}: timeout" in text
