from __future__ import annotations

import pytest

from newsarchive.discovery.urls import (
    canonicalize_url,
    host_allowed,
    registered_domain,
    trap_reason,
    url_key,
    url_template,
)

ARTICLE = "https://www.autocar.co.uk/car-news/new-cars/tesla-model-y"


@pytest.mark.parametrize(
    "variant",
    [
        ARTICLE,
        "HTTPS://WWW.AutoCar.co.uk:443/car-news/new-cars/tesla-model-y",
        ARTICLE + "/",
        ARTICLE + "#comments",
        ARTICLE + "?utm_source=twitter&utm_medium=social&utm_campaign=x",
        ARTICLE + "?fbclid=IwAR0abc&gclid=xyz&mc_cid=1&mc_eid=2",
        ARTICLE + ";jsessionid=0A1B2C3D4E",
        ARTICLE + "?PHPSESSID=abc123",
        ARTICLE + "?sid=deadbeef#top",
    ],
)
def test_variants_share_one_key(variant: str) -> None:
    assert url_key(variant) == url_key(ARTICLE)


def test_canonical_form_keeps_content_parameters_sorted() -> None:
    url = "http://Example.com:80/a/b/?z=1&id=42&utm_term=x#f"
    assert canonicalize_url(url) == "http://example.com/a/b/?id=42&z=1"
    assert url_key(url) == "http://example.com/a/b?id=42&z=1"
    assert canonicalize_url("http://example.com:8080") == "http://example.com:8080/"
    assert canonicalize_url("mailto:x@example.com") == "mailto:x@example.com"
    assert url_key("https://x.com/a?page=2") != url_key("https://x.com/a?page=3")
    assert canonicalize_url("https://x.com/caf\u00e9 x") == "https://x.com/caf%C3%A9%20x"


def test_hosts_and_domains() -> None:
    assert host_allowed("https://news.autocar.co.uk/x", ["autocar.co.uk"])
    assert host_allowed("https://www.autocar.co.uk/x", ["autocar.co.uk"])
    assert not host_allowed("https://autocar.co.uk.evil.com/x", ["autocar.co.uk"])
    assert not host_allowed("https://notautocar.co.uk/x", ["autocar.co.uk"])
    assert host_allowed("http://127.0.0.1:8001/x", ["127.0.0.1:8001"])
    assert not host_allowed("http://127.0.0.1:8002/x", ["127.0.0.1:8001"])
    assert registered_domain("https://www.autocar.co.uk/news") == "autocar.co.uk"
    assert registered_domain("https://europe.autonews.com/") == "autonews.com"
    assert registered_domain("http://127.0.0.1:8042/") == "127.0.0.1-8042"


def test_trap_shapes() -> None:
    assert trap_reason("https://x.com/a/b/a/b/a/b/") == "repeated_segment"
    assert trap_reason("https://x.com/" + "/".join(f"s{i}" for i in range(25))) == "path_too_deep"
    assert trap_reason("https://x.com/" + "a" * 3000) == "url_too_long"
    assert trap_reason("https://x.com/news/2024/05/01/story") is None
    assert url_template("https://x.com/archive/2024/05/01/") == url_template(
        "https://x.com/archive/2023/12/31/"
    )
    assert url_template("https://x.com/l?page=2") == url_template("https://x.com/l?page=300")
