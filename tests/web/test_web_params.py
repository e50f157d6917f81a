"""A page's state in its URL: links built for a changed state are that state's URL."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from newsarchive.web.params import SearchParams

STATE = SearchParams.from_query(
    {"q": 'tesla OR "solid state" -recall', "lang": "en", "since": "2024-01-01", "page": "3",
     "by_source": "1", "company": "Mercedes-Benz & Co"}
)  # fmt: skip


@pytest.mark.parametrize(
    "changes",
    [{}, {"source": "autodaily"}, {"page": 4}, {"lang": ""}, {"copies": True},
     {"since": "2024-02-01", "until": "2024-02-29"}, {"q": "città e/o ß?&="}],
)  # fmt: skip
def test_a_link_is_the_url_of_the_changed_state(changes: dict[str, object]) -> None:
    link = STATE.url("/", **changes)
    state = STATE.with_(**changes) if changes else STATE
    assert SearchParams.from_query(dict(parse_qsl(urlsplit(link).query))) == state
    assert link == state.url()
    pairs = parse_qsl(urlsplit(link).query)
    assert urlsplit(link).query == urlencode(pairs)  # quoted as urlencode quotes
    if changes and "page" not in changes:
        assert "page" not in dict(pairs)  # a new filter starts again at page 1


def test_defaults_are_left_out_and_unknown_names_refused() -> None:
    assert SearchParams().url("/api/search") == "/api/search"
    assert STATE.url("/export", extra={"format": "csv"}).endswith("&format=csv")
    with pytest.raises(TypeError, match="unknown search parameters"):
        STATE.url(colour="red")
