from __future__ import annotations

import hashlib
import logging
import socket
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest
from sqlalchemy import text
from support.http import fetch
from support.rows import add_article

from newsarchive.errors import ConfigError
from newsarchive.web import make_web_server

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from click.testing import Result

    from newsarchive.archive import Archive

EVIL_TITLE = '<script>alert("x")</script> Tesla & Co'


@pytest.fixture
def site(archive: Archive) -> Iterator[str]:
    with archive.session() as s:
        ids = []
        evil_body = "Tesla battery <img src=x onerror=alert(1)> recall news."
        for source, slug, title, body in [
            ("autoblog", "a", EVIL_TITLE, evil_body),
            ("<b>mirror</b>", "b", EVIL_TITLE, evil_body),
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
                copy_of=ids[0] if slug == "b" else None,
            )
            ids.append(art.id)
    with _serving(archive) as url:
        yield url


@contextmanager
def _serving(archive: Archive) -> Iterator[str]:
    server = make_web_server(archive, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_form_without_query(site: str) -> None:
    status, body, _ = fetch(site + "/")
    page = body.decode()
    assert status == 200
    assert '<form method="get" action="/">' in page
    assert 'name="include_duplicates"' not in page
    assert 'name="dups"' in page


def test_results_are_ranked_escaped_and_highlighted(site: str) -> None:
    status, body, _ = fetch(site + "/?" + urlencode({"q": "tesla battery"}))
    page = body.decode()
    assert status == 200
    assert "<script>" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Tesla &amp; Co" in page
    assert "<mark>battery</mark>" in page
    assert "1 duplicate" in page
    assert page.count('class="hit"') == 1


def test_filters_and_duplicates(site: str) -> None:
    query = {"q": "tesla", "dups": "1"}
    status, body, _ = fetch(site + "/?" + urlencode(query))
    page = body.decode()
    assert (status, page.count('class="hit"')) == (200, 2)
    assert "&lt;b&gt;mirror&lt;/b&gt;" in page
    assert "<b>mirror" not in page
    assert "copy of" in page
    status, body, _ = fetch(site + "/?" + urlencode({"q": "tesla", "source": "nope"}))
    page = body.decode()
    assert (status, "No matches." in page) == (200, True)
    status, body, _ = fetch(site + "/?" + urlencode({"q": "électrique", "lang": "en"}))
    page = body.decode()
    assert page.count('class="hit"') == 1
    status, body, _ = fetch(site + "/?" + urlencode({"q": "electrique"}))
    page = body.decode()
    assert "No matches." in page  # accents matter, as in the CLI


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": 'tesla "battery'}, "unbalanced quote"),
        ({"q": "tesla OR"}, "OR at position 7 has no term after it"),
        ({"q": "<script>x</script> OR"}, "has no term after it"),
        ({"q": "tesla", "since": "<b>soon</b>"}, "bad date &#x27;&lt;b&gt;soon&lt;/b&gt;&#x27;"),
    ],
)
def test_bad_query_is_400_with_message(site: str, params: dict[str, str], message: str) -> None:
    status, body, _ = fetch(site + "/?" + urlencode(params))
    page = body.decode()
    assert status == 400
    assert message in page
    assert "<script>x" not in page
    assert "<b>soon" not in page


def test_article_page(site: str) -> None:
    status, body, _ = fetch(site + "/?" + urlencode({"q": "tesla"}))
    page = body.decode()
    href = page.split('<a href="/article/', 1)[1].split('"', 1)[0]
    status, body, _ = fetch(f"{site}/article/{href}")
    page = body.decode()
    assert status == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img" not in page
    assert "https://autoblog.example/b" in page  # its copy
    assert fetch(site + "/article/999999")[0] == 404
    assert fetch(site + "/nope")[0] == 404


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_taken_port_is_a_config_error(archive: Archive, taken_port: int) -> None:
    with pytest.raises(ConfigError, match=rf"^cannot listen on 127\.0\.0\.1:{taken_port}: \w"):
        make_web_server(archive, "127.0.0.1", taken_port)


def test_serve_on_a_taken_port_is_one_line_not_a_traceback(
    archive: Archive, archive_url: str, taken_port: int, invoke: Callable[..., Result]
) -> None:
    result = invoke("serve", "--db", archive_url, "--port", str(taken_port))
    assert result.exit_code == 2
    assert result.output.startswith(f"error: cannot listen on 127.0.0.1:{taken_port}: ")
    assert "Traceback" not in result.output


def test_an_archive_failure_is_a_500_page_with_the_message(
    archive: Archive, caplog: pytest.LogCaptureFixture
) -> None:
    with _serving(archive) as url:
        assert fetch(url + "/?q=tesla")[0] == 200
        with archive.engine.begin() as conn:
            conn.execute(text("ALTER TABLE sources RENAME TO sources_gone"))
        with caplog.at_level(logging.ERROR, logger="newsarchive.web"):
            status, body, _ = fetch(url + "/?q=tesla")
            page = body.decode()
    assert status == 500
    assert '<p class="error">database error on ' in page
    assert "sources" in page.split('<p class="error">', 1)[1]
    errors = [r for r in caplog.records if r.name == "newsarchive.web"]
    assert len(errors) == 1
    assert all(r.exc_info is None and "database error on" in r.getMessage() for r in errors)
