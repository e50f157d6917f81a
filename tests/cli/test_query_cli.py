from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from support.rows import add_article

from newsarchive.archive.models import Article, ArticleVersion

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from click.testing import Result

    from newsarchive.archive import Archive

    Run = Callable[..., tuple[int, str, str]]

STORIES = [
    (
        "autoblog",
        "tesla-recall",
        "Tesla recalls Model Y",
        "Tesla recalls cars over a battery fault.",
    ),
    ("mirror", "tesla-copy", "Tesla recalls Model Y", "Tesla recalls cars over a battery fault."),
    ("motori", "melfi", "Stellantis a Melfi", "La città di Melfi e le auto elettriche."),
]


@pytest.fixture
def db(archive: Archive, archive_url: str) -> str:
    with archive.session() as s:
        ids = []
        for source, slug, title, body in STORIES:
            art = add_article(
                s,
                source,
                slug,
                title,
                body,
                published=datetime(2024, 5, len(ids) + 1, 8, tzinfo=UTC),
                lang="it" if source == "motori" else "en",
                first_seen="2024-05-01T00:00:00",
                last_seen="2024-05-02T00:00:00",
                copy_of=ids[0] if source == "mirror" else None,
            )
            ids.append(art.id)
    return archive_url


@pytest.fixture
def run(invoke: Callable[..., Result]) -> Run:
    """``newsarchive ARGS...`` as (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        result = invoke(*args)
        return result.exit_code, result.stdout, result.stderr

    return run


def test_search_text_and_json(db: str, run: Run) -> None:
    code, out, _ = run("search", "tesla", "battery", "--db", db)
    assert code == 0
    assert "Tesla recalls Model Y" in out
    assert "(+1 copy)" in out
    assert "[battery]" in out
    code, out, _ = run("search", "tesla", "--include-duplicates", "--json", "--db", db)
    by_source = {h["source"]: h for h in json.loads(out)}
    assert sorted(by_source) == ["autoblog", "mirror"]
    assert by_source["mirror"]["duplicate_of"] == by_source["autoblog"]["id"]
    assert by_source["autoblog"]["duplicate_count"] == 1


def test_search_with_excluded_terms(db: str, run: Run) -> None:
    code, out, err = run("search", "tesla", "-auto", "--db", db)
    assert (code, out.count("#1 ")) == (0, 1), err
    code, out, _ = run("search", "auto", "-tesla", "--db", db)
    assert (code, out.count("Stellantis")) == (0, 1)
    code, out, _ = run("search", "cars", "-battery", "--db", db)
    assert (code, out.strip()) == (0, "no matches")


def test_search_filters_and_no_matches(db: str, run: Run) -> None:
    code, out, _ = run("search", "città", "--lang", "it", "--since", "2024-05-03", "--db", db)
    assert (code, out.count("#")) == (0, 1)
    code, out, _ = run("search", "città", "--until", "2024-05-02", "--db", db)
    assert (code, out.strip()) == (0, "no matches")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "tesla", "OR"], "error: OR at position 7 has no term after it"),
        (["search", "--", "-tesla"], "error: only excluded terms"),
        (["search", "tesla", "--since", "last week"], "error: bad date 'last week'"),
        (["show", "424242"], "error: no article with id or URL '424242'"),
        (["export", "--query", '"open'], "error: unbalanced quote"),
    ],
)
def test_errors_are_one_line(db: str, args: list[str], message: str, run: Run) -> None:
    code, out, err = run(args[0], "--db", db, *args[1:])
    assert code == 2
    assert err.startswith(message)
    assert "Traceback" not in err
    assert out == ""


def test_show(db: str, run: Run) -> None:
    code, out, _ = run("show", "https://autoblog.example/tesla-recall", "--db", db)
    assert code == 0
    assert "source:     autoblog" in out
    assert "copy:       #2 https://mirror.example/tesla-copy (mirror, exact 1.00)" in out
    code, out, _ = run("show", "2", "--json", "--db", db)
    data = json.loads(out)
    assert data["original"]["id"] == 1
    assert data["published"] == "2024-05-02T08:00:00+00:00"


def test_show_versions(archive: Archive, db: str, run: Run) -> None:
    with archive.session() as s:
        s.add(
            ArticleVersion(
                article_id=3,
                version=1,
                title="Stellantis a Melfi",
                body="La città di Melfi e le auto.",
                content_sha256="a" * 64,
                captured_at=datetime(2024, 4, 30, tzinfo=UTC),
            )
        )
        s.get(Article, 3).version = 2  # type: ignore[union-attr]
    code, out, err = run("show", "3", "--versions", "--db", db)
    assert code == 0, err
    assert "version 1  2024-04-30T00:00:00+00:00  aaaaaaaaaaaa" in out
    assert "-La città di Melfi e le auto." in out
    assert "+La città di Melfi e le auto elettriche." in out


def test_stats(db: str, run: Run) -> None:
    code, out, _ = run("stats", "--json", "--days", "2", "--db", db)
    assert code == 0
    data = json.loads(out)
    assert (data["articles"], data["originals"], data["duplicates"]) == (3, 2, 1)
    assert data["per_source"] == {"autoblog": 1, "mirror": 1, "motori": 1}
    assert len(data["per_day"]) == 2
    code, out, _ = run("stats", "--db", db)
    assert "articles:   3 (2 originals, 1 duplicates)" in out


def test_export_stdout_and_file(db: str, tmp_path: Path, run: Run) -> None:
    code, out, _ = run("export", "--format", "jsonl", "--lang", "en", "--db", db)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["source"], r["duplicate_count"]) for r in rows] == [("autoblog", 1)]
    assert not list(tmp_path.glob("*.manifest.json"))
    target = tmp_path / "out.csv"
    code, _, err = run(
        "export",
        "--format",
        "csv",
        "-o",
        str(target),
        "--include-duplicates",
        "--query",
        "tesla",
        "--db",
        db,
    )
    assert code == 0, err
    assert "2 rows" in err
    manifest = json.loads((tmp_path / "out.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == 2
    assert manifest["filters"]["include_duplicates"] is True
    assert target.read_text(encoding="utf-8").splitlines()[0].startswith("id,url,canonical_url")


def test_help_mentions_stdout_has_no_manifest(run: Run) -> None:
    code, out, _ = run("export", "--help")
    assert code == 0
    assert "no manifest" in " ".join(out.split())


def test_show_prints_the_publishers_offset() -> None:
    from datetime import UTC, datetime

    from newsarchive.cli.query import _local_time

    stored = datetime(2024, 4, 27, 12, 15, tzinfo=UTC)
    assert _local_time(stored, -240) == "2024-04-27T08:15:00-04:00"
    assert _local_time(stored, None) == "2024-04-27T12:15:00+00:00"
    assert _local_time(None, 120) == "-"


def test_show_accepts_listing_ids_and_url_spellings(db: str, run: Run) -> None:
    """Regression: `#17` (as listings print ids) and a URL with tracking parameters or another
    host case found nothing; an id beyond 64 bits crashed SQLite with a traceback."""
    code, out, _ = run("show", "#1", "--db", db)
    assert code == 0
    assert "Tesla recalls Model Y" in out
    code, out, _ = run("show", "https://AUTOBLOG.example/tesla-recall?utm_source=x#top", "--db", db)
    assert code == 0, out
    assert "autoblog" in out
    code, _, err = run("show", "99999999999999999999999", "--db", db)
    assert code == 2
    assert "no article with id or URL" in err
    assert "Traceback" not in err


def test_a_mistyped_option_is_not_a_search_term(db: str, run: Run) -> None:
    """Regression: `--limt 1` was searched for as words and printed "no matches" (exit 0)."""
    code, _, err = run("search", "tesla", "--limt", "1", "--db", db)
    assert code == 2
    assert "No such option: --limt" in err
    code, out, _ = run("search", "tesla", "-battery", "--db", db)  # a single dash excludes
    assert code == 0
    assert out.strip() == "no matches"
