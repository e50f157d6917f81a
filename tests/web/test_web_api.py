"""The JSON API over the crawled demo archive, on both backends: status codes and every answer
validated against the OpenAPI description the server publishes; the same answers as the CLI."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import pytest
from jsonschema import Draft202012Validator
from support.http import fetch

from newsarchive.archive import open_archive
from newsarchive.archive.search import SearchFilters, iter_matching_ids, latest

if TYPE_CHECKING:
    from collections.abc import Callable

    from click.testing import Result


@pytest.fixture(scope="module")
def description(demo_server: str) -> dict[str, Any]:
    status, body, headers = fetch(demo_server + "/api/openapi.json")
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    return dict(json.loads(body))


def get_json(url: str) -> tuple[int, Any]:
    status, body, headers = fetch(url)
    assert headers["content-type"].startswith("application/json"), (url, headers)
    return status, json.loads(body)


def check(description: dict[str, Any], path: str, status: int, answer: Any) -> None:
    """``answer`` is what the description says ``path`` answers with ``status``."""
    responses = description["paths"][path]["get"]["responses"]
    assert str(status) in responses, f"{path} answered {status}, which is not described"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": description["components"]})
    errors = sorted(validator.iter_errors(answer), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_the_description_is_valid_openapi_with_valid_schemas(description: dict[str, Any]) -> None:
    assert description["openapi"].startswith("3.1")
    assert set(description["paths"]) == {
        "/api/search",
        "/api/facets",
        "/api/timeline",
        "/api/articles/{article_id}",
        "/api/companies/{name}",
    }
    for name, schema in description["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object", name


def test_search_answers_match_the_description_and_the_cli(
    demo_server: str, demo_archive: str, description: dict[str, Any], invoke: Callable[..., Result]
) -> None:
    status, answer = get_json(demo_server + "/api/search?" + urlencode({"q": "Renault Xiaomi"}))
    assert status == 200
    check(description, "/api/search", 200, answer)
    cli = invoke("search", "Renault", "Xiaomi", "--json", "--db", demo_archive)
    assert cli.exit_code == 0, cli.output
    assert [h["id"] for h in answer["hits"]] == [h["id"] for h in json.loads(cli.output)]
    assert answer["total"] == len(answer["hits"]) == 2
    assert "[Xiaomi]" in answer["hits"][0]["snippet"]

    status, by_date = get_json(
        demo_server + "/api/search?" + urlencode({"q": "electric", "sort": "date", "copies": "1"})
    )
    check(description, "/api/search", 200, by_date)
    dates = [h["published"] for h in by_date["hits"]]
    assert dates == sorted(dates, reverse=True)
    assert any(h["duplicate_of"] for h in by_date["hits"])


@pytest.mark.parametrize(
    "params",
    [
        {"q": "Renault"},
        {"q": "electric OR battery", "lang": "en"},
        {"q": "Renault -Xiaomi", "copies": "1"},
        {"q": "batter*", "source": "autodaily"},
        {"company": "Xiaomi", "copies": "1"},
        {"since": "2024-05-01", "until": "2024-05-15"},
    ],
)
def test_counts_equal_the_exact_matches(
    demo_server: str, demo_archive: str, description: dict[str, Any], params: dict[str, str]
) -> None:
    status, facets = get_json(demo_server + "/api/facets?" + urlencode(params))
    assert status == 200
    check(description, "/api/facets", 200, facets)
    status, tl = get_json(demo_server + "/api/timeline?" + urlencode(params))
    check(description, "/api/timeline", 200, tl)
    filters = SearchFilters.from_params(
        source=params.get("source"),
        lang=params.get("lang"),
        company=params.get("company"),
        since=params.get("since"),
        until=params.get("until"),
        include_duplicates=params.get("copies") == "1",
    )
    with open_archive(demo_archive, read_only=True) as archive, archive.session() as session:
        if params.get("q"):
            exact = len(list(iter_matching_ids(session, params["q"], filters)))
        else:
            exact = len(latest(session, filters, limit=10_000))
    assert facets["total"] == exact
    assert tl["total"] == exact
    assert sum(v["count"] for v in facets["sources"]) == exact
    assert sum(v["count"] for v in facets["months"]) == exact


def test_timeline_buckets_and_per_source_counts(
    demo_server: str, description: dict[str, Any]
) -> None:
    status, tl = get_json(demo_server + "/api/timeline?bucket=week&by_source=1")
    assert status == 200
    check(description, "/api/timeline", 200, tl)
    assert tl["bucket"] == "week"
    assert set(tl["sources"]) == {"autodaily", "motorwire", "autoitalia"}
    for bucket in tl["buckets"]:
        assert sum(bucket["by_source"].values()) == bucket["count"]
    starts = [b["start"] for b in tl["buckets"]]
    assert starts == sorted(starts)
    assert all(date.fromisoformat(s).weekday() == 0 for s in starts)  # ISO weeks: Mondays


def test_article_answer_has_copies_with_kinds_and_captures(
    demo_server: str, description: dict[str, Any]
) -> None:
    _, found = get_json(demo_server + "/api/search?" + urlencode({"q": "Renault Xiaomi Li Auto"}))
    original = next(h for h in found["hits"] if h["duplicate_count"] == 2)
    status, article = get_json(f"{demo_server}/api/articles/{original['id']}")
    assert status == 200
    check(description, "/api/articles/{article_id}", 200, article)
    assert sorted(c["kind"] for c in article["copies"]) == ["near", "translation"]
    assert {c["lang"] for c in article["copies"]} == {"en", "it"}
    assert article["captures"]
    assert article["published_local"].endswith("+02:00")  # the publisher's offset
    assert article["published"].endswith("+00:00")
    assert article["versions"][-1]["current"] is True


def test_company_answer(demo_server: str, description: dict[str, Any]) -> None:
    status, company = get_json(demo_server + "/api/companies/xiaomi?copies=1")
    assert status == 200
    check(description, "/api/companies/{name}", 200, company)
    assert company["name"] == "Xiaomi"
    assert "Renault" in [c["value"] for c in company["co_mentions"]]
    assert "Xiaomi" not in [c["value"] for c in company["co_mentions"]]
    assert company["articles"] == len(company["latest"]) == company["timeline"]["total"]
    assert (company["group"], company["members"]) == (None, [])
    _, renault = get_json(demo_server + "/api/companies/Renault")
    assert renault["group"] == "Renault Group"  # where the gazetteer puts it
    _, group = get_json(demo_server + "/api/companies/" + quote("Renault Group"))
    assert "Renault" in group["members"]


@pytest.mark.parametrize(
    ("path", "described", "status"),
    [
        ("/api/search?q=" + quote("Renault OR"), "/api/search", 400),
        ("/api/search?q=tesla&page=99", "/api/search", 400),
        ("/api/facets?since=yesterday", "/api/facets", 400),
        ("/api/timeline?bucket=hour", "/api/timeline", 400),
        ("/api/articles/987654", "/api/articles/{article_id}", 404),
        ("/api/companies/" + quote("No Such Motors"), "/api/companies/{name}", 404),
    ],
)
def test_errors_have_their_status_and_the_error_schema(
    demo_server: str, description: dict[str, Any], path: str, described: str, status: int
) -> None:
    got, answer = get_json(demo_server + path)
    assert got == status
    check(description, described, status, answer)
    assert answer["status"] == status
    assert answer["error"]


def test_unknown_api_paths_and_methods(demo_server: str) -> None:
    assert fetch(demo_server + "/api/nope")[0] == 404
    request = urllib.request.Request(demo_server + "/api/search?q=x", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405


def test_story_pages_show_the_outlets_in_time_order(demo_server: str) -> None:
    _, found = get_json(demo_server + "/api/search?" + urlencode({"q": "Renault Xiaomi Li Auto"}))
    original = next(h for h in found["hits"] if h["duplicate_count"] == 2)
    _, article = get_json(f"{demo_server}/api/articles/{original['id']}")
    assert article["story_id"] is not None
    mates = {m["source"] for m in article["story_mates"]}
    assert {"motorwire", "autoitalia"} <= mates  # its copies are in its story
    status, body, _ = fetch(f"{demo_server}/story/{article['story_id']}")
    html = body.decode()
    assert status == 200
    dates = re.findall(r'<tr class="member"><td>([\d-]+ [\d:]+)</td>', html)
    assert len(dates) == len(article["story_mates"]) + 1
    assert dates == sorted(dates)
    assert "translation copy" in html
    assert f'href="/article/{original["id"]}"' in html
    status, body, _ = fetch(demo_server + "/stories")
    assert status == 200
    assert f'href="/story/{article["story_id"]}"' in body.decode()
    assert fetch(demo_server + "/story/987654")[0] == 404


def test_topic_and_group_facets_select_what_they_count(
    demo_server: str, description: dict[str, Any]
) -> None:
    _, facets = get_json(demo_server + "/api/facets")
    assert facets["topics"], "the demo archive's articles have topics"
    topic = facets["topics"][0]
    status, found = get_json(demo_server + "/api/search?" + urlencode({"topic": topic["value"]}))
    assert status == 200
    check(description, "/api/search", 200, found)
    assert found["total"] == topic["count"]
    groups = {v["value"]: v["count"] for v in facets["companies"]}
    _, group = get_json(demo_server + "/api/search?" + urlencode({"company": "Renault Group"}))
    assert group["total"] >= groups["Renault"] >= 1  # the group filter includes its brands
    assert get_json(demo_server + "/api/search?topic=no-such-topic")[0] == 400
