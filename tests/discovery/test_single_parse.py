"""Each page is parsed once, in an extraction worker; the crawl process parses no HTML.

The crawl runs under ``parse_counter.py``, which counts every call of an HTML parser entry point
(lxml.html, lxml.etree.HTML / HTMLParser, parsel's selectors) in the crawl process and in each
extraction worker.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from support.cli import cli_env
from support.newssite import NewsSite

COUNTER = Path(__file__).with_name("parse_counter.py")
STORIES = 12


def test_crawl_process_parses_no_html_and_workers_parse_each_page_once(tmp_path: Path) -> None:
    logs = tmp_path / "parses"
    logs.mkdir()
    with NewsSite(count=STORIES, per_listing=5) as site:
        proc = subprocess.run(
            [
                sys.executable, "-P", str(COUNTER), "crawl", site.home, "--local", "--json",
                "--quiet", "--db", str(tmp_path / "a.db"),
            ],
            capture_output=True, text=True, timeout=240, env=cli_env(
                NEWSARCHIVE_TEST_PARSE_LOG=str(logs)
            ), check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        html_fetches = [
            path for _, path in site.fetches()
            if path == "/" or path.startswith(("/news/?page=", "/news/20")) or path == "/news/"
        ]  # fmt: skip
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["articles_new"] == STORIES, summary
    by_role: Counter[str] = Counter()
    entries: Counter[str] = Counter()
    for log in logs.glob("*.log"):
        for line in log.read_text(encoding="utf-8").splitlines():
            role, _thread, entry = line.split("\t")
            by_role[role] += 1
            entries[f"{role} {entry}"] += 1
    assert by_role["main"] == 0, entries
    # home, listing pages and articles: each parsed exactly once, all in the workers
    assert len(html_fetches) > STORIES
    assert by_role["worker"] == len(html_fetches), (entries, html_fetches)
