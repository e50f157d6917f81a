"""Items: bad input is one clear line and an exit code, never a traceback or a hang; text a
crawled page put in the archive cannot drive the terminal that prints it.

Each input below once gave a traceback (or ranked the whole match set): hundreds of OR'd terms
(a nested tsquery overflowed the recursion limit on PostgreSQL, SQLite's expression depth on
SQLite), an end date at the end of the calendar, a superscript digit as an article id, an offset
deep into the results. All run on both backends.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from support.rows import add_article

from newsarchive.archive import open_archive

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from click.testing import Result

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b[1;1H\u202eevil\x9b31m\r"
BODY = "Battery plant news for the north. " * 12


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One archive per backend for the whole module: the inputs only read it."""
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("bad-inputs") / "archive.db")
        _fill(url)
        yield url
        return
    import uuid

    from conftest import PG_DSN, _pg_admin_conn

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with _pg_admin_conn() as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{PG_DSN}?options=-csearch_path%3D{schema}"
        _fill(url)
        yield url
    finally:
        with _pg_admin_conn() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _fill(archive_url: str) -> None:
    with open_archive(archive_url) as archive, archive.session() as session:
        add_article(session, "ledger", "a1", "Clean headline about a battery plant", BODY)
        add_article(
            session,
            "ledger",
            "a2",
            f"Recall{ESCAPES} headline",
            f"Battery plant {ESCAPES} body text. " * 10,
            authors=[f"Eve{ESCAPES}"],
        )


BAD_INPUTS = {
    "300 OR'd terms": ["search", " OR ".join(f"word{i}" for i in range(300))],
    "1500 OR'd terms": ["search", " OR ".join(f"w{i}" for i in range(1500))],
    "2000 terms": ["search", " ".join(f"w{i}" for i in range(2000))],
    "--until with a bad date": ["export", "--until", "9999-12-31x", "--format", "jsonl"],
    "--since far before the calendar": ["search", "battery", "--since", "0001-01-01T00:00+05:00"],
    "show ²": ["show", "²"],
    "show #²": ["show", "#²"],
    "show a 30-digit id": ["show", "9" * 30],
    "--offset deep": ["search", "battery", "--offset", "50000"],
    "--limit 0": ["search", "battery", "--limit", "0"],
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(
    name: str, db: str, invoke: Callable[..., Result]
) -> None:
    result = invoke(*BAD_INPUTS[name], "--db", db)
    assert result.exit_code == 2, (name, result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines, name
    assert "Traceback" not in result.output
    assert len(lines) <= 4, result.output  # click usage errors take 3 lines, ours one


def test_the_end_of_the_calendar_is_a_valid_until(db: str, invoke: Callable[..., Result]) -> None:
    result = invoke("search", "battery", "--until", "9999-12-31", "--json", "--db", db)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 2
    exported = invoke("export", "--until", "9999-12-31", "--db", db)
    assert exported.exit_code == 0, exported.output
    assert len(exported.output.splitlines()) == 2


def test_sixty_four_ored_terms_still_search(db: str, invoke: Callable[..., Result]) -> None:
    query = " OR ".join([*(f"absent{i}" for i in range(63)), "plant"])
    result = invoke("search", query, "--json", "--db", db)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 2


@pytest.mark.parametrize(
    "args",
    [("search", "recall"), ("show", "2"), ("search", "recall", "--json"), ("show", "2", "--json")],
)
def test_crawled_text_cannot_drive_the_terminal(
    args: tuple[str, ...], db: str, invoke: Callable[..., Result]
) -> None:
    result = invoke(*args, "--db", db)
    assert result.exit_code == 0, result.output
    assert "Recall" in result.output
    for ch in "\x1b\x07\x9b\r\u202e":
        assert ch not in result.output, (args, repr(ch))
    if "--json" in args:  # the data is kept, escaped
        data = json.loads(result.output)
        text = json.dumps(data, ensure_ascii=False)
        assert "\x1b" in text or "\\u001b" in text


WEB_INPUTS = {
    "/article/%B2": (404,),
    "/article/%C2%B2": (404,),
    "/article/99999999999999999999999": (404,),
    "/?q=" + "+OR+".join(f"w{i}" for i in range(300)): (400,),
    "/?q=battery&page=%C2%B2": (400,),
    "/?q=battery&page=999999": (400,),
    "/?q=battery&until=9999-12-31": (200,),
    "/?q=battery&since=0001-01-01T00:00%2B05:00": (400,),
}


@pytest.mark.parametrize("path", list(WEB_INPUTS))
def test_bad_web_input_is_a_clear_answer(path: str, db: str) -> None:
    from support.http import fetch

    from newsarchive.web import WebServer

    archive = open_archive(db, read_only=True)
    server = WebServer(archive, "127.0.0.1", 0).start()
    try:
        status, body, _ = fetch(server.url.rstrip("/") + path)
    finally:
        server.stop()
        archive.dispose()
    assert status in WEB_INPUTS[path], (path, status, body[:300])
    assert b"Traceback" not in body
