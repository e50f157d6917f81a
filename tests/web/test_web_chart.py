"""The timeline's bars as SVG: each bar's link, title and rectangles are well-formed markup
with every stored string escaped (a source name is hostile text), per source or as a total."""

from __future__ import annotations

from datetime import date
from xml.etree import ElementTree

import pytest

from newsarchive.archive.facets import Timeline, TimelineBucket
from newsarchive.web.chart import build_chart
from newsarchive.web.params import SearchParams

EVIL_SOURCE = '<script>alert("x")</script> & "Co"'
PARAMS = SearchParams.from_query({"q": "battery", "company": "Mercedes-Benz & Co"})


def _timeline(by_source: bool) -> Timeline:
    buckets = [
        TimelineBucket(date(2024, 4, 1), date(2024, 4, 8), 3,
                       {EVIL_SOURCE: 2, "autodaily": 1} if by_source else {}),
        TimelineBucket(date(2024, 4, 8), date(2024, 4, 15), 0, {}),
        TimelineBucket(date(2024, 4, 15), date(2024, 4, 22), 1,
                       {"autodaily": 1} if by_source else {}),
    ]  # fmt: skip
    return Timeline("week", buckets, [EVIL_SOURCE, "autodaily"] if by_source else [])


def _parsed(markup: str) -> ElementTree.Element:
    # the bars' fragment as one document: it must parse, and its text is the stored text
    return ElementTree.fromstring(f'<svg xmlns:x="urn:x">{markup}</svg>')


@pytest.mark.parametrize("by_source", [False, True])
def test_each_bar_is_well_formed_svg_with_its_link_title_and_rectangles(by_source: bool) -> None:
    chart = build_chart(_timeline(by_source), PARAMS)
    svg = _parsed("".join(bar.svg for bar in chart.bars))
    links = svg.findall("a")
    assert len(links) == 3
    for bar, link in zip(chart.bars, links, strict=True):
        assert link.get("href") == bar.href
        assert "&amp;" in bar.svg  # the link's & escaped in the markup
        assert link.findtext("title") == f"{bar.label}: {bar.count}"
        hitbox, *shown = link.findall("rect")
        assert hitbox.get("class") == "hitbox"
        assert float(hitbox.get("height") or 0) == chart.baseline - 8
        if by_source:
            assert [r.get("data-source") for r in shown] == [s.source for s in bar.segments]
            assert [float(r.get("y") or 0) for r in shown] == [s.y for s in bar.segments]
        elif bar.count:
            (total,) = shown
            assert total.get("data-count") == str(bar.count)
            assert float(total.get("height") or 0) == bar.height
        else:
            assert shown == []
    assert "<script>" not in "".join(bar.svg for bar in chart.bars)


def test_the_page_draws_the_bars_the_chart_computed() -> None:
    from newsarchive.web.app import _templates

    chart = build_chart(_timeline(True), PARAMS)
    env = _templates().env
    macro = env.get_template("_chart.html").module.timeline_chart  # type: ignore[attr-defined]
    html = str(macro(chart, PARAMS))
    for bar in chart.bars:
        assert bar.svg in html
    assert html.count('<a class="bar"') == 3
