"""The timeline drawn as an SVG bar chart on the server: no script, no CDN, works offline.

This module computes the geometry (bars, per-source segments, axis labels, links); the
template writes the SVG elements. Each bar links to the same search narrowed to its bucket's
dates. Colours come from CSS classes (``s0``…``s7``), never inline styles, so the page's
Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from newsarchive.archive.facets import Timeline
    from newsarchive.web.params import SearchParams

logger = logging.getLogger(__name__)

WIDTH = 760
HEIGHT = 180
LEFT = 36  # room for the y-axis labels
BOTTOM = 22  # room for the date labels
TOP = 8
MAX_BAR = 48.0  # a few buckets make bars, not walls
COLOURS = 8  # CSS classes s0..s7; further sources share the last colour ("other")


@dataclass(slots=True)
class Segment:
    y: float
    height: float
    css: str
    source: str
    count: int


@dataclass(slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    label: str  # "2024-04-26" or "2024-04-22 – 2024-04-28"
    href: str
    segments: list[Segment] = field(default_factory=list)
    svg: Markup = field(default_factory=Markup)  # the bar's SVG elements, see ``_bar_svg``


@dataclass(slots=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    x_labels: list[tuple[float, str, str]]  # x, text, text-anchor
    y_labels: list[tuple[float, str]]
    legend: list[tuple[str, str]]  # (css class, source)
    bucket: str
    total: int
    baseline: float


def build_chart(tl: Timeline, params: SearchParams, path: str = "/") -> Chart:
    """Bars for ``tl``; a bar's link keeps ``params`` and narrows since/until to the bucket."""
    plot_w = WIDTH - LEFT - 4
    plot_h = HEIGHT - TOP - BOTTOM
    baseline = float(TOP + plot_h)
    n = max(1, len(tl.buckets))
    step = plot_w / n
    gap = max(min(2.0, step * 0.2), step - MAX_BAR)
    peak = max((b.count for b in tl.buckets), default=0) or 1
    css = {src: f"s{min(i, COLOURS - 1)}" for i, src in enumerate(tl.sources)}
    bars = []
    for i, b in enumerate(tl.buckets):
        last_day = b.end - timedelta(days=1)
        label = b.start.isoformat()
        if last_day != b.start:
            label += " – " + last_day.isoformat()
        h = plot_h * b.count / peak
        bar = Bar(
            x=round(LEFT + i * step + gap / 2, 2),
            y=round(baseline - h, 2),
            width=round(max(1.0, step - gap), 2),
            height=round(h, 2),
            count=b.count,
            label=label,
            href=params.url(path, since=b.start.isoformat(), until=last_day.isoformat()),
        )
        y = baseline
        for src in tl.sources:
            count = b.by_source.get(src, 0)
            if not count:
                continue
            sh = plot_h * count / peak
            y -= sh
            bar.segments.append(Segment(round(y, 2), round(sh, 2), css[src], src, count))
        bar.svg = _bar_svg(bar, baseline)
        bars.append(bar)
    x_labels = []
    if tl.buckets:
        picks = sorted({0, len(tl.buckets) // 2, len(tl.buckets) - 1})
        last = len(tl.buckets) - 1
        x_labels = [
            (
                LEFT + (i + 0.5) * step,
                tl.buckets[i].start.isoformat(),
                "start" if i == 0 and last else ("end" if i == last and last else "middle"),
            )
            for i in picks
        ]
    y_labels = [(baseline, "0"), (float(TOP), str(peak))]
    legend = [(css[s], s) for s in tl.sources[: COLOURS - 1]]
    if len(tl.sources) >= COLOURS:
        legend.append((f"s{COLOURS - 1}", "other sources"))
    return Chart(WIDTH, HEIGHT, bars, x_labels, y_labels, legend, tl.bucket, tl.total, baseline)


def _bar_svg(bar: Bar, baseline: float) -> Markup:
    """One bar's link, title and rectangles, written here rather than in the template: a chart
    has up to hundreds of bars (and segments), and the template's escaping of each of their
    numbers was half of a search page's rendering time. The text is what ``_chart.html``
    wrote (whitespace included); strings are escaped, numbers are written as the template
    wrote them (``str``)."""
    head = (
        f'    <a class="bar" href="{escape(bar.href)}">\n'
        f"      <title>{escape(bar.label)}: {bar.count}</title>\n"
        f'      <rect class="hitbox" x="{bar.x}" y="8" width="{bar.width}" '
        f'height="{baseline - 8}"/>\n'
    )
    parts = [head]
    if bar.segments:
        parts += [
            f'<rect class="{escape(seg.css)}" x="{bar.x}" y="{seg.y}" width="{bar.width}" '
            f'height="{seg.height}" data-source="{escape(seg.source)}"/>'
            for seg in bar.segments
        ]
    elif bar.count:
        parts.append(
            f'        <rect class="total" x="{bar.x}" y="{bar.y}" width="{bar.width}" '
            f'height="{bar.height}" data-count="{bar.count}"/>\n'
        )
    parts.append("    </a>\n")
    return Markup("".join(parts))
