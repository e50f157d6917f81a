"""Helpers for crawl tests: the fixture site on LocalWeb and the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from newsarchive.webserver import LocalWeb, Response, Site

from .site import write_site

if TYPE_CHECKING:
    from newsarchive.webserver import Request

CLI = str(Path(sys.executable).with_name("newsarchive"))
ARTICLE_PREFIX = "/news/20"


def cli_command(db: str, url: str, *args: str) -> list[str]:
    return [
        CLI, "crawl", url, "--db", db, "--local",
        "-s", "CLOSESPIDER_TIMEOUT=120", *args,
    ]  # fmt: skip


def run_cli(
    db: str, url: str, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(db, url, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=cli_env(),
    )


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def slow_site(root: Path, count: int, delay: float, name: str = "ledger") -> LocalWeb:
    """The fixture site with every article response held back ``delay`` seconds."""
    write_site(root, count, name)
    holder: dict[str, LocalWeb] = {}

    def slow(request: Request) -> Response | None:
        if not request.path.startswith(ARTICLE_PREFIX):
            return None
        found = holder["web"].static(name, request.path)
        if found is None:
            return None
        body, ctype, etag = found
        return Response(200, body, {"Content-Type": ctype, "ETag": etag}, delay=delay)

    web = LocalWeb([Site(name, root, slow)])
    holder["web"] = web
    return web


def article_gets(web: LocalWeb, site: str = "ledger") -> list[str]:
    return [
        e.path
        for e in web.requests_for(site)
        if e.method == "GET" and e.path.startswith(ARTICLE_PREFIX)
    ]
