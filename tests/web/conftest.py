"""Archives and running servers for the web app's tests.

``demo_archive`` is the bundled demo web crawled through the real CLI into an archive, once per
test session and backend; ``demo_server`` serves it read-only over HTTP on a free port, as
``newsarchive serve`` would. ``hostile_server`` serves a small archive whose stored text is
hostile HTML, for the escaping rules.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import pytest
from support.cli import run_cli
from support.rows import add_article
from support.web import serve_read_only, stop_serving

from newsarchive.demo import EXPECTED

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from newsarchive.archive import Archive
    from newsarchive.demo.server import LocalWeb

EVIL_TITLE = '<script>alert("x")</script> Tesla & Co'
EVIL_BODY = "Tesla battery <img src=x onerror=alert(1)> recall news."
EVIL_COMPANY = "<i>Evil</i> Motors"


def _sources_file(web: LocalWeb, path: Path) -> Path:
    lines = []
    for name, info in json.loads(EXPECTED.read_text(encoding="utf-8"))["sites"].items():
        lines += [
            f"[sources.{name}]",
            f'display_name = "{info["name"]}"',
            f'homepage = "{web.url(name)}"',
            f'language = "{info["language"]}"',
            'country = "INT"',
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def demo_archive(
    request: pytest.FixtureRequest, demo_web: LocalWeb, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The demo web crawled into a fresh archive on each backend; yields its URL."""
    tmp = tmp_path_factory.mktemp("demo-archive")
    if request.param == "sqlite":
        url = str(tmp / "demo.db")
    else:
        url = str(request.getfixturevalue("pg_session_url"))
    sources = _sources_file(demo_web, tmp / "sources.toml")
    run_cli(
        "crawl", "--source", "autodaily", "--source", "motorwire", "--source", "autoitalia",
        "--sources-file", str(sources), "--db", url, "--local", "--quiet",
        check=True, timeout=240,
    )  # fmt: skip
    return url


@pytest.fixture(scope="session")
def demo_server(demo_archive: str) -> Iterator[str]:
    """Base URL (no trailing slash) of a server over the demo archive."""
    server = serve_read_only(demo_archive)
    try:
        yield server.url.rstrip("/")
    finally:
        stop_serving(server)


@pytest.fixture
def hostile_archive(archive: Archive) -> Archive:
    """Three articles whose title, body, source name and company are hostile HTML."""
    with archive.session() as s:
        ids: list[int] = []
        for source, slug, title, body in [
            ("autoblog", "a", EVIL_TITLE, EVIL_BODY),
            ("<b>mirror</b>", "b", EVIL_TITLE, EVIL_BODY),
            ("autoblog", "c", "Renault Zoé électrique", "La Zoé électrique de Renault, en città."),
        ]:
            art = add_article(
                s,
                source,
                slug,
                title,
                body,
                url=f"https://autoblog.example/{slug}",
                canonical_url=f"https://autoblog.example/{slug}",
                published="2024-05-01T00:00:00",
                content_sha256=hashlib.sha256(slug.encode()).hexdigest(),
                companies=[EVIL_COMPANY] if slug == "a" else ["Renault"],
                copy_of=ids[0] if slug == "b" else None,
            )
            ids.append(art.id)
        add_article(
            s,
            "autoblog",
            "js",
            "A javascript link",
            "Stored with a javascript: URL, which must never become a link.",
            url="javascript:alert(1)",
            canonical_url="https://autoblog.example/js",
            published="2024-04-01T00:00:00",
        )
    return archive


@pytest.fixture
def hostile_server(hostile_archive: Archive) -> Iterator[str]:
    server = serve_read_only(hostile_archive.url)
    try:
        yield server.url.rstrip("/")
    finally:
        stop_serving(server)
