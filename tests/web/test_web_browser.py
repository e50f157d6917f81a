"""The web app in a real browser (Debian's chromium, driven by Playwright), on both backends:
an analyst searches, narrows by a facet, pages, reads an article and its copies, follows the
timeline and a company, and exports the search. Screenshots of each step are saved under the
test's temporary directory; ``NEWSARCHIVE_SCREENSHOTS=DIR`` also copies them to DIR (the README
tour's images in docs/ are made so)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Shots:
    """Numbered screenshots of one test, kept as artifacts."""

    def __init__(self, page: Page, directory: Path, backend: str) -> None:
        self.page, self.directory, self.backend = page, directory, backend
        self.copy_to = os.environ.get("NEWSARCHIVE_SCREENSHOTS")
        self.taken: list[Path] = []

    def __call__(self, name: str) -> None:
        path = self.directory / f"{len(self.taken) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        if self.copy_to and self.backend == "sqlite":  # the README's images: the first screen
            Path(self.copy_to).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(self.copy_to) / f"web-{name}.png"))


def total(page: Page) -> int:
    return int(page.locator("#total").inner_text())


def test_an_analyst_session(
    browser: Browser, demo_server: str, demo_archive: str, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    shots = Shots(page, tmp_path, "sqlite" if "://" not in demo_archive else "postgresql")
    try:
        # type a query
        page.goto(demo_server + "/")
        page.fill("input[name=q]", "electric OR battery")
        page.press("input[name=q]", "Enter")
        page.wait_for_url(re.compile(r"q=electric"))
        before = total(page)
        assert before > 3
        assert page.locator("li.hit").count() == min(before, 20)
        shots("search")

        # click a facet: the count becomes the facet's count
        facet = page.locator("section[data-facet=source] li").filter(has_text="motorwire")
        facet_count = int(facet.locator(".n").inner_text())
        assert 0 < facet_count < before
        facet.locator("a").click()
        page.wait_for_url(re.compile(r"source=motorwire"))
        assert total(page) == facet_count
        assert page.locator("a.chip").filter(has_text="source: motorwire").is_visible()
        shots("facet")
        page.locator("a.chip").filter(has_text="source: motorwire").click()
        page.wait_for_url(lambda url: "source=" not in url)
        assert total(page) == before

        # page forward: every article with copies is 21 > one page of 20
        page.goto(demo_server + "/?copies=1")
        assert total(page) == 21
        assert page.locator("li.hit").count() == 20
        page.locator("a[rel=next]").click()
        page.wait_for_url(re.compile(r"page=2"))
        assert page.locator("li.hit").count() == 1
        assert page.locator("nav.pages").inner_text().count("page 2 of 2") == 1

        # the timeline: bars, the per-source toggle, a bar narrows the dates
        page.goto(demo_server + "/?q=Renault&copies=1")
        bars = page.locator("svg.chart a.bar")
        assert bars.count() >= 2
        page.locator("a.by-source").click()
        page.wait_for_url(re.compile(r"by_source=1"))
        assert page.locator("svg.chart rect[data-source]").count() >= 3
        assert page.locator("ul.legend li").count() == 3
        shots("timeline")
        busiest = max(
            range(page.locator("svg.chart a.bar").count()),
            key=lambda i: len(
                page.locator("svg.chart a.bar").nth(i).locator("rect[data-source]").all()
            ),
        )
        bar = page.locator("svg.chart a.bar").nth(busiest)
        label = bar.locator("title").text_content() or ""
        expected = int(label.rsplit(": ", 1)[1])
        bar.click()
        page.wait_for_url(re.compile(r"since=\d{4}-\d\d-\d\d&until="))
        assert total(page) == expected

        # open an article and see its copies with their kinds
        page.goto(demo_server + "/?q=" + "Renault Xiaomi Li Auto".replace(" ", "+"))
        page.locator("li.hit").filter(has_text="2 copies").locator("a.title").click()
        page.wait_for_url(re.compile(r"/article/\d+$"))
        kinds = page.locator("tr.copy td.kind").all_inner_texts()
        assert sorted(kinds) == ["near", "translation"]
        assert "publisher's time, UTC+02:00" in page.locator("td.published").inner_text()
        assert page.locator("tr.capture").count() >= 1
        shots("article")

        # its story: the outlets that reported it, in time order
        page.locator("a.story").click()
        page.wait_for_url(re.compile(r"/story/\d+$"))
        assert page.locator("tr.member").count() >= 3
        assert "translation copy" in page.locator("table.story-articles").inner_text()
        shots("story")
        page.go_back()

        # follow a company link
        page.locator("td.companies a.company").filter(has_text="Xiaomi").click()
        page.wait_for_url(re.compile(r"/company/Xiaomi"))
        assert page.locator("h1.company").inner_text() == "Xiaomi"
        co = page.locator("section[data-facet=co-mentions]").inner_text()
        assert "Renault" in co
        shots("company")

        # export the current query and read the file back
        page.goto(demo_server + "/?q=battery&lang=en")
        expected_rows = total(page)
        with page.expect_download() as download_info:
            page.locator("a.export-jsonl").click()
        download = download_info.value
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        rows = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines()]
        assert len(rows) == expected_rows
        assert {r["lang"] for r in rows} == {"en"}
        assert all("battery" in (r["title"] + r["body"]).lower() for r in rows)
        assert problems == []  # no CSP violation, no script error
    finally:
        context.close()
    assert len(shots.taken) == 6
