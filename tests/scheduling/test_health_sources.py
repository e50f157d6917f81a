"""Source health in a run over several sources, through the real CLI."""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING

from support.cli import run_cli

from .crawler import slow_site

if TYPE_CHECKING:
    from pathlib import Path


def test_a_dead_source_in_a_many_source_run_is_flagged(tmp_path: Path) -> None:
    """Regression: connection failures were only attributed to a source when the run had one
    source, so a dead source next to a live one was reported healthy."""
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    web = slow_site(tmp_path / "site", 3, delay=0.0)
    db = str(tmp_path / "news.db")
    sources = tmp_path / "sources.toml"
    with web:
        sources.write_text(
            "\n".join(
                f'[sources.{name}]\ndisplay_name = "{name}"\nhomepage = "{url}"\n'
                'language = "en"\ncountry = "GB"\n'
                for name, url in (("alive", web.url("ledger")), ("dead", dead))
            ),
            encoding="utf-8",
        )
        crawl = run_cli(
            "crawl", "--sources-file", str(sources), "--source", "alive", "--source", "dead",
            "--db", db, "--local", "--json", "-s", "RETRY_TIMES=0",
        )  # fmt: skip
    assert crawl.returncode == 1, crawl.stderr  # partial
    health = run_cli("runs", "--health", "--json", "--db", db)
    assert health.returncode == 1
    report = {row["source"]: row for row in map(json.loads, health.stdout.splitlines())}
    assert report["alive"]["problems"] == []
    assert report["alive"]["articles_new"] == 3
    assert "mostly_errors" in report["dead"]["problems"]
    assert report["dead"]["errors"] >= 1
