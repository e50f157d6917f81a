"""Retry-After waits happen off the downloader: a rate-limited site never holds the download
slots another site needs, and the crawl stays open until its delayed retries have run."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import pytest

from newsarchive.demo.server import LocalWeb, Response, Site

from .test_crawl import run_crawl
from .web import WEB

if TYPE_CHECKING:
    from pathlib import Path

    from newsarchive.demo.server import Request

pytestmark = pytest.mark.slow

HTML = {"Content-Type": "text/html; charset=utf-8"}
WAIT = 5  # the Retry-After the limited site asks for, in seconds
LIMITED = [f"/news/2024/05/limited-story-{i}" for i in range(6)]
OPEN = [f"/news/2024/05/open-story-{i}" for i in range(8)]


def _article() -> bytes:
    page = (WEB / "rdfnews" / "meldungen" / "zf-cuts-jobs-in-saarbruecken.html").read_text()
    return "\n".join(line for line in page.splitlines() if 'rel="canonical"' not in line).encode()


def _home(links: list[str]) -> bytes:
    items = "".join(f'<li><a href="{href}">Story {i}</a></li>' for i, href in enumerate(links))
    return f"<!DOCTYPE html><html><body><ul>{items}</ul></body></html>".encode()


class Sites:
    """Two sites on loopback and a timed log of every request they answered."""

    def __init__(self) -> None:
        self.hits: list[tuple[float, str, str, int]] = []  # (time, site, path, status)
        self.lock = threading.Lock()
        self.all_limited = threading.Event()  # every limited article has answered 429 once
        self.article = _article()

    def _log(self, site: str, path: str, response: Response) -> Response:
        with self.lock:
            self.hits.append((time.monotonic(), site, path, response.status))
            limited = {p for _, s, p, status in self.hits if s == "limited" and status == 429}
        if len(limited) == len(LIMITED):
            self.all_limited.set()
        return response

    def limited(self, request: Request) -> Response | None:
        if request.path == "/":
            return self._log("limited", "/", Response(200, _home(LIMITED), HTML))
        if request.path in LIMITED:
            answer = Response(429, b"slow down", {"Retry-After": str(WAIT), **HTML})
            return self._log("limited", request.path, answer)
        return Response(404, b"", HTML)

    def open(self, request: Request) -> Response | None:
        if request.path == "/":
            # Discovered only once the limited site's retries are waiting: with the waits
            # inside the downloader they would now hold every download slot.
            self.all_limited.wait(timeout=20)
            return self._log("open", "/", Response(200, _home(OPEN), HTML))
        if request.path in OPEN:
            return self._log("open", request.path, Response(200, self.article, HTML))
        return Response(404, b"", HTML)

    def times(self, site: str, paths: list[str]) -> list[float]:
        with self.lock:
            return [at for at, s, p, _ in self.hits if s == site and p in paths]


def test_retry_after_waits_do_not_block_other_sites(tmp_path: Path) -> None:
    sites = Sites()
    web = LocalWeb([Site("limited", None, sites.limited), Site("open", None, sites.open)])
    with web:
        starts = f"{web.url('limited', '/')},{web.url('open', '/')}"
        result = run_crawl(
            web, tmp_path, "-a", f"start_urls={starts}",
            "-s", "CONCURRENT_REQUESTS=2", "-s", "RETRY_TIMES=1",
        )  # fmt: skip
        assert result.returncode == 0, result.log[-3000:]
        assert result.yielded("open") == set(OPEN)
    assert sites.all_limited.is_set()
    opened = sites.times("open", OPEN)
    assert len(opened) == len(OPEN)
    first_answers: dict[str, float] = {}
    retries: list[float] = []
    for at, site, path, _ in sites.hits:
        if site == "limited" and path in LIMITED:
            if path in first_answers:
                retries.append(at - first_answers[path])
            else:
                first_answers[path] = at
    # Each limited article was tried again once, after the wait the server asked for...
    assert len(retries) == len(LIMITED), sites.hits
    assert min(retries) >= WAIT - 0.1, retries
    # ...and while those retries waited, the open site's articles were all fetched.
    first_retry = min(sites.times("limited", LIMITED)) + WAIT
    assert max(opened) < first_retry, (opened, first_retry)
    assert result.stats.get("newsarchive/retry_after/honoured") == len(LIMITED)
    assert result.stats.get("retry/max_reached") == len(LIMITED)
    assert result.stats.get("retry/count") == len(LIMITED)
