from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from support.http import fetch

from newsarchive.demo.server import LocalWeb, Response, Site

if TYPE_CHECKING:
    from pathlib import Path


def test_sites_placeholders_conditional_requests_and_log(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "index.html").write_text('<a href="{{site:b}}/x.html">b</a>')
    (tmp_path / "b" / "x.html").write_text("<p>x</p>")

    def faults(request):  # type: ignore[no-untyped-def]
        return Response(503, b"busy") if request.path == "/busy" else None

    with LocalWeb([Site("a", tmp_path / "a"), Site("b", tmp_path / "b", faults)]) as web:
        status, body, headers = fetch(web.url("a"))
        assert status == 200
        assert body.decode() == f'<a href="{web.base("b")}/x.html">b</a>'
        status, _, _ = fetch(web.url("a"), {"If-None-Match": headers["ETag"]})
        assert status == 304
        assert fetch(web.url("b", "/busy"))[0] == 503
        assert fetch(web.url("b", "/missing"))[0] == 404
        assert fetch(web.url("b", "/../a/index.html"))[0] == 404
        assert [(e.site, e.path, e.status) for e in web.requests_for()] == [
            ("a", "/", 200),
            ("a", "/", 304),
            ("b", "/busy", 503),
            ("b", "/missing", 404),
            ("b", "/../a/index.html", 404),
        ]


def test_truncated_body_is_cut(tmp_path: Path) -> None:
    def cut(request):  # type: ignore[no-untyped-def]
        return Response(200, b"x" * 1000, {"Content-Length": "1000"}, cut_after=10)

    with (
        LocalWeb([Site("c", None, cut)]) as web,
        pytest.raises(Exception, match=r"(?i)incomplete"),
    ):
        fetch(web.url("c", "/"))


def test_preferred_port_falls_back_when_taken(tmp_path: Path) -> None:
    with LocalWeb([Site("a", tmp_path)]) as first:
        first_base = first.base("a")
        taken = int(first_base.rsplit(":", 1)[1])
        with LocalWeb([Site("a", tmp_path)], preferred_ports={"a": taken}) as second:
            assert second.base("a") != first_base
    with LocalWeb([Site("a", tmp_path)], preferred_ports={"a": taken}) as third:
        assert third.base("a") == first_base
