"""The recall harness in small: single-path news sites and a syndicator, crawled by the real CLI.

Pages are written here, one per miss class seen on real sites (see bench/recall.py for the
full corpus run): a news-sitemap story with weak markup, a feed story under a listing-shaped
URL, Japanese and Chinese stories shorter than 40 spaced words, URLs whose canonical spelling
the server does not answer (a session id, a relative rel=canonical to a dead spelling, an
empty path segment), and a syndicator that republishes stories with attribution lines and is
crawled first (and, in another test, last): the first publisher must be the original.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from support.cli import run_cli
from support.newssite import story as seeded_story

from newsarchive.demo.multisite import PATHS, SYNDICATOR, MultiSiteWeb, StoryPage
from newsarchive.discovery.urls import url_key

if TYPE_CHECKING:
    from pathlib import Path

START = datetime(2024, 5, 6, 7, 30, tzinfo=UTC)
ORDERS = ("syndicator-first", "origin-first")
JA = (
    "トヨタ自動車は{n}日、愛知県の工場で新型の電気自動車の生産を始めたと発表した。"
    "同社は年間十万台の生産を計画しており、部品メーカーとの協力を強化する。"
    "販売は国内から始め、来年には欧州にも輸出する予定だという。"
)
ZH = (
    "比亚迪{n}日宣布，其位于匈牙利的新工厂将于明年投产，年产能为十五万辆。"
    "公司表示，新工厂将主要生产面向欧洲市场的紧凑型电动汽车。"
    "分析人士认为，此举有助于公司规避欧盟可能加征的关税。"
)


def _article(title: str, paragraphs: list[str], *, lang: str, site: str, head: str = "") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">
<title>{title}</title><meta property="og:site_name" content="{site}">{head}</head><body><header><a href="/">Home</a></header>
<main><h1>{title}</h1>{body}</main><footer>Contact the newsroom</footer></body></html>""".encode()


def _story(site: str, n: int, path: str, *, head: str = "", lang: str = "en") -> StoryPage:
    title = f"Plant {n} of {site} starts production of battery packs"
    if lang == "ja":
        paragraphs = [JA.format(n=n), JA.format(n=n + 1)]
    elif lang == "zh":
        paragraphs = [ZH.format(n=n), ZH.format(n=n + 1)]
    else:
        paragraphs = seeded_story(n).paragraphs  # a text of its own for every story
    site_name = f"{site.capitalize()} Auto News"
    return StoryPage(
        key=f"{site}-{n}",
        path=path,
        html=_article(title, paragraphs, lang=lang, site=site_name, head=head),
        title=title,
        body="\n".join(paragraphs),
        published=START + timedelta(hours=n),
        lang=lang,
        site_name=site_name,
    )


def stories() -> dict[str, list[StoryPage]]:
    """Six stories per site, the miss classes spread over the four discovery paths."""
    sites: dict[str, list[StoryPage]] = {}
    for k, site in enumerate(PATHS):
        base = 10 * k
        sites[site] = [
            _story(site, base + i, f"/{site}/2024/05/story-number-{base + i}-about-a-plant.html")
            for i in range(3)
        ]
    # a story the news sitemap lists, with nothing in its markup or URL saying "article"
    sites["newsmap"].append(
        _story("newsmap", 4, "/x4", head='<meta property="og:type" content="website">')
    )
    sites["newsmap"].append(_story("newsmap", 5, "/ja/keizai/5.html", lang="ja"))
    sites["feeds"].append(_story("feeds", 24, "/archive/63076"))  # a listing-shaped URL
    sites["feeds"].append(_story("feeds", 25, "/zh/qiche/25.html", lang="zh"))
    # spellings the server answers only as written
    sites["sitemap"].append(_story("sitemap", 14, "/texte/14-story.html;jsessionid=A1B2C3"))
    sites["links"].append(_story("links", 34, "/news//2024/story-with-empty-segment-34"))
    sites["links"].append(
        _story(
            "links",
            35,
            "/news/2024/Story-Mixed-Case-35.html",
            head='<link rel="canonical" href="/news/2024/story-mixed-case-35.html">',
        )
    )
    return sites


@dataclass(slots=True)
class Outcome:
    web: MultiSiteWeb
    records: list[dict[str, Any]]
    fetched: dict[tuple[str, str], int]
    violations: list[str]
    urls: dict[tuple[str, str], str]  # (site, story key) → URL

    def record(self, site: str, key: str) -> dict[str, Any]:
        target = url_key(self.urls[(site, key)])
        for rec in self.records:
            if target in (url_key(str(rec["url"])), url_key(str(rec["canonical_url"]))):
                return rec
        raise AssertionError(f"{site} {key} not in the export")

    def links(self) -> set[tuple[str, str]]:
        """(copy path, original path) of every link, ports left out."""
        path = {r["id"]: str(r["url"]).split("/", 3)[3] for r in self.records}
        return {(path[r["id"]], path[r["duplicate_of"]]) for r in self.records if r["duplicate_of"]}


def _crawl(db: Path, urls: list[str]) -> None:
    proc = run_cli("crawl", "--local", "--quiet", "--db", str(db), *urls, timeout=240)
    assert proc.returncode in (0, 1), proc.stderr


def _run(tmp_path: Path, order: str) -> Outcome:
    db = tmp_path / f"{order}.db"
    with MultiSiteWeb(stories(), syndicated_share=0.5) as web:
        origins = [web.base(site) + "/" for site in PATHS]
        syndicator = [web.base(SYNDICATOR) + "/"]
        for urls in [syndicator, origins] if order == "syndicator-first" else [origins, syndicator]:
            _crawl(db, urls)
        out = tmp_path / f"{order}.jsonl"
        proc = run_cli("export", "--include-duplicates", "--db", str(db), "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        return Outcome(
            web=web,
            records=[json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()],
            fetched=web.fetch_counts(),
            violations=web.robots_violations(),
            urls={
                (site, key): web.url(site, path)
                for site in (*PATHS, SYNDICATOR)
                for path, key in web.article_paths(site).items()
            },
        )


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    tmp = tmp_path_factory.mktemp("recall")
    return {order: _run(tmp, order) for order in ORDERS}


@pytest.mark.parametrize("order", ORDERS)
def test_every_story_of_every_path_is_exported_once(
    crawled: dict[str, Outcome], order: str
) -> None:
    got = crawled[order]
    for site in PATHS:
        for story in got.web.stories[site]:
            got.record(site, story.key)
    stored = sum(len(v) for v in got.web.stories.values()) + len(got.web.republications)
    assert len(got.records) == stored, [r["url"] for r in got.records]


@pytest.mark.parametrize("order", ORDERS)
def test_first_publisher_is_the_original_whatever_the_crawl_order(
    crawled: dict[str, Outcome], order: str
) -> None:
    got = crawled[order]
    assert len(got.web.republications) >= 4
    for rep in got.web.republications:
        copy = got.record(SYNDICATOR, rep.story.key)
        origin = got.record(rep.origin, rep.story.key)
        assert origin["duplicate_of"] is None, rep.story.key
        assert copy["duplicate_of"] == origin["id"], rep.story.key


def test_both_orders_give_the_same_links(crawled: dict[str, Outcome]) -> None:
    assert crawled["syndicator-first"].links() == crawled["origin-first"].links()


@pytest.mark.parametrize("order", ORDERS)
def test_no_robots_violation_refetch_or_false_record(
    crawled: dict[str, Outcome], order: str
) -> None:
    got = crawled[order]
    assert got.violations == []
    article_pages = {
        (site, path) for site in (*PATHS, SYNDICATOR) for path in got.web.article_paths(site)
    }
    twice = [
        path
        for page, n in got.fetched.items()
        if n > 1 and page in article_pages
        for path in [page[1]]
    ]
    # the one page whose rel=canonical answers 404 is fetched again under the spelling found
    assert twice in ([], ["/news/2024/Story-Mixed-Case-35.html"]), twice
    keys = {url_key(u) for u in got.urls.values()}
    false = [
        r["url"]
        for r in got.records
        if url_key(str(r["url"])) not in keys and url_key(str(r["canonical_url"])) not in keys
    ]
    assert false == []
