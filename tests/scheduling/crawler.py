"""Helpers for crawl tests: the fixture site on LocalWeb and the CLI in a subprocess."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from support import cli
from support.newssite import ARTICLE_PREFIX, write_site

from newsarchive.demo.server import LocalWeb, Response, Site

if TYPE_CHECKING:
    import subprocess
    from pathlib import Path

    from newsarchive.demo.server import Request


def crawl_args(db: str, url: str, *args: str) -> list[str]:
    """The arguments of a bounded ``newsarchive crawl`` of ``url`` into ``db``."""
    return ["crawl", url, "--db", db, "--local", "-s", "CLOSESPIDER_TIMEOUT=120", *args]


def start_crawl(db: str, url: str, *args: str, **streams: Any) -> subprocess.Popen[str]:
    return cli.start_cli(*crawl_args(db, url, *args), **streams)


def run_cli(
    db: str, url: str, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return cli.run_cli(*crawl_args(db, url, *args), timeout=timeout)


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
