"""The HTML pages over a small archive of hostile stored text, on both backends: search with
filters and copies, bad input as HTTP 400 with the parser's message, the article page, errors."""

from __future__ import annotations

import logging
import re
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pytest

EVIL_COMPANY = "<i>Evil</i> Motors"  # stored on article "a" by the hostile_archive fixture
from sqlalchemy import text
from support.http import fetch
from support.rows import add_article

from newsarchive.errors import ConfigError
from newsarchive.web import WebServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from click.testing import Result

    from newsarchive.archive import Archive


def page(url: str) -> tuple[int, str]:
    status, body, _ = fetch(url)
    return status, body.decode()


def test_the_front_page_lists_the_latest_articles_with_the_form(hostile_server: str) -> None:
    status, html = page(hostile_server + "/")
    assert status == 200
    assert '<form class="search" method="get" action="/">' in html
    assert 'name="copies"' in html  # the include-copies checkbox
    assert re.search(r'<strong id="total">3</strong>', html)  # originals only
    assert html.count('class="hit"') == 3


def test_results_are_ranked_escaped_and_highlighted(hostile_server: str) -> None:
    status, html = page(hostile_server + "/?" + urlencode({"q": "tesla battery"}))
    assert status == 200
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Tesla &amp; Co" in html
    assert "<mark>battery</mark>" in html
    assert "1 copy" in html
    assert html.count('class="hit"') == 1


def test_filters_and_copies(hostile_server: str) -> None:
    status, html = page(hostile_server + "/?" + urlencode({"q": "tesla", "copies": "1"}))
    assert (status, html.count('class="hit"')) == (200, 2)
    assert "&lt;b&gt;mirror&lt;/b&gt;" in html
    assert "<b>mirror" not in html
    assert "copy of" in html
    assert "copies included" in html  # the chip
    status, html = page(hostile_server + "/?" + urlencode({"q": "tesla", "source": "nope"}))
    assert (status, "No matches." in html) == (200, True)
    status, html = page(hostile_server + "/?" + urlencode({"q": "électrique", "lang": "en"}))
    assert html.count('class="hit"') == 1
    status, html = page(hostile_server + "/?" + urlencode({"q": "electrique"}))
    assert "No matches." in html  # accents matter, as in the CLI


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": 'tesla "battery'}, "unbalanced quote"),
        ({"q": "tesla OR"}, "OR at position 7 has no term after it"),
        ({"q": "<script>x</script> OR"}, "has no term after it"),
        ({"q": "tesla", "since": "<b>soon</b>"}, "bad date &#39;&lt;b&gt;soon&lt;/b&gt;&#39;"),
        ({"q": "x" * 301}, "query too long"),
        ({"q": " ".join(f"w{i}" for i in range(17))}, "too many terms (17)"),
        ({"q": "tesla", "page": "51"}, "page must be a number from 1 to 50"),
        ({"q": "tesla", "page": "-1"}, "page must be a number"),
        ({"q": "tesla", "sort": "<x>"}, "unknown sort"),
    ],
)
def test_bad_input_is_400_with_message(
    hostile_server: str, params: dict[str, str], message: str
) -> None:
    status, html = page(hostile_server + "/?" + urlencode(params))
    assert status == 400
    assert message in html
    assert "<script>x" not in html
    assert "<b>soon" not in html
    assert 'name="q"' in html  # the form is there to correct the query


def test_article_page(hostile_server: str) -> None:
    _, html = page(hostile_server + "/?" + urlencode({"q": "tesla"}))
    article = html.split('<a class="title" href="/article/', 1)[1].split('"', 1)[0]
    status, html = page(f"{hostile_server}/article/{article}")
    assert status == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html
    assert "https://autoblog.example/b" in html  # its copy
    assert '<td class="kind">exact</td>' in html
    assert "&lt;i&gt;Evil&lt;/i&gt; Motors" in html
    assert "<i>Evil" not in html
    assert fetch(hostile_server + "/article/999999")[0] == 404
    assert fetch(hostile_server + "/nope")[0] == 404


def test_a_hostile_company_name_is_escaped_on_its_page(hostile_server: str) -> None:
    status, html = page(hostile_server + "/company/" + EVIL_COMPANY.replace(" ", "%20"))
    assert status == 200
    assert '<h1 class="company">&lt;i&gt;Evil&lt;/i&gt; Motors</h1>' in html
    assert "<i>" not in html


def test_a_javascript_url_is_never_a_link(hostile_server: str) -> None:
    _, html = page(hostile_server + "/?" + urlencode({"q": "javascript"}))
    article = html.split('<a class="title" href="/article/', 1)[1].split('"', 1)[0]
    _, html = page(f"{hostile_server}/article/{article}")
    assert "javascript:alert(1)" in html  # shown as text
    assert 'href="javascript:' not in html


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_taken_port_is_a_config_error(archive: Archive, taken_port: int) -> None:
    with pytest.raises(ConfigError, match=rf"^cannot listen on 127\.0\.0\.1:{taken_port}: \w"):
        WebServer(archive, "127.0.0.1", taken_port)


def test_serve_on_a_taken_port_is_one_line_not_a_traceback(
    archive: Archive, archive_url: str, taken_port: int, invoke: Callable[..., Result]
) -> None:
    result = invoke("serve", "--db", archive_url, "--port", str(taken_port))
    assert result.exit_code == 2
    assert result.output.startswith(f"error: cannot listen on 127.0.0.1:{taken_port}: ")
    assert "Traceback" not in result.output


def test_an_archive_failure_is_a_generic_500_page_and_one_log_line(
    hostile_archive: Archive, hostile_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert fetch(hostile_server + "/?q=tesla")[0] == 200
    with hostile_archive.engine.begin() as conn:
        conn.execute(text("ALTER TABLE sources RENAME TO sources_gone"))
    with caplog.at_level(logging.ERROR, logger="newsarchive.web"):
        status, html = page(hostile_server + "/?q=battery")  # not a cached answer
        api_status, api_body, _ = fetch(hostile_server + "/api/search?q=battery")
    assert status == 500
    assert "The archive could not answer this request." in html
    # no connection string, table name or SQL reaches the client
    for leak in ("sqlite", "postgresql", "sources", "SELECT", "archive.db"):
        assert leak not in html.split("<main>", 1)[1]
        assert leak not in api_body.decode()
    assert api_status == 500
    errors = [r for r in caplog.records if r.name.startswith("newsarchive.web")]
    assert len(errors) == 2
    assert all(r.exc_info is None and "database error on" in r.getMessage() for r in errors)
    hostile_archive.engine.dispose()


def test_a_stored_article_shows_at_once_though_answers_are_cached(
    hostile_archive: Archive, hostile_server: str
) -> None:
    def total() -> str:
        return page(hostile_server + "/?q=tesla")[1].split('<strong id="total">')[1].split("<")[0]

    assert total() == "1"
    assert total() == "1"  # the same answer again, from the cache
    with hostile_archive.session() as s:
        add_article(s, "autoblog", "new", "Tesla news", "Tesla opens a plant.")
    assert total() == "2"
