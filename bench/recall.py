"""End-to-end recall/precision of discovery + article rule + validation + linking, on real pages.

Serves the pages of the evaluation corpus (../shared/corpus) as four loopback news sites, one
discovery path each (news sitemap, plain sitemap, feeds, section links), with their own
non-article pages, plus a syndicator that republishes a share of the stories with an
attribution line (newsarchive.demo.multisite). Crawls them with the real CLI (``--local``), the
syndicator first and alone by default, exports the archive as JSONL with copies, and scores:

- recall per site (discovery path) and per script: corpus articles present in the export;
- precision: exported records that are articles (corpus articles and syndicator copies);
- robots violations (requests under the disallowed path), article pages fetched twice;
- originals' share: syndicated stories whose copy points at the first publisher's record.

Corpus pages that are not articles (a site root, an about/advertising page, a date archive
without a headline in the ground truth) are put on the sitemap and links sites and count
against precision if exported.

    python bench/recall.py --corpus ../shared/corpus [--order origin-first] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from newsarchive.demo.multisite import PATHS, SYNDICATOR, MultiSiteWeb, StoryPage
from newsarchive.demo.multisite import page_key as served_key
from newsarchive.discovery.pagetype import url_kind
from newsarchive.extraction.textlength import script_of

_SITE_NAME = re.compile(
    rb'<meta[^>]+property=["\']og:site_name["\'][^>]+content=["\']([^"\']+)', re.IGNORECASE
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
CLI = str(Path(sys.executable).with_name("newsarchive"))
SCRIPT_BY_LANG = {"ja": "cjk", "zh": "cjk", "th": "thai", "ko": "hangul"}


def page_key(url: str) -> str:
    """One key per served page, as the server finds pages (escapes decoded, query parameters
    in any order), trailing slash ignored."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return parts.netloc + served_key(path).rstrip("/ ")


# A calendar page (/2011/, /2024/05/, /2024/05/17/): the truth's own test, kept apart from the
# crawler's url_kind so that changing the crawler cannot change what counts as an article.
_CALENDAR = re.compile(r"/(?:19|20)\d{2}(?:/\d{1,2}){0,2}/?")


def is_non_article(row: dict[str, str]) -> bool:
    """Corpus pages that are not articles: a site root, a utility page, or a listing (by URL
    shape or a calendar path) whose ground truth has no headline."""
    url, known = row["url"], row["known"].split(",")
    if not url:
        return False
    path = urlsplit(url).path
    kind = url_kind(url)
    root = path in ("", "/") and not urlsplit(url).query  # "/?p=31228" is a WordPress article
    listing = kind == "listing" or _CALENDAR.fullmatch(path) is not None
    return root or kind == "utility" or (listing and "title" not in known)


def load_corpus(root: Path, limit: int | None) -> tuple[list[StoryPage], set[str]]:
    rows = list(csv.DictReader((root / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"))
    rows.sort(key=lambda r: r["name"])
    if limit:
        rows = rows[:limit]
    pages: list[StoryPage] = []
    non_articles: set[str] = set()
    for row in rows:
        name = row["name"]
        truth = json.loads((root / f"{name}.json").read_text(encoding="utf-8"))
        with gzip.open(root / f"{name}.html.gz", "rb") as fh:
            html = fh.read()
        if row["url"]:
            parts = urlsplit(row["url"])
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            if path == "/":
                path = f"/{name}/"
        else:
            path = f"/story/{name}.html"
        title = truth.get("title")
        if not title:
            m = _TITLE.search(html)
            title = m.group(1).decode("utf-8", "replace").strip() if m else name
        site_name = _SITE_NAME.search(html)
        published = None
        if truth.get("published"):
            try:
                published = datetime.fromisoformat(truth["published"])
            except ValueError:
                published = None
        if published is not None and published.tzinfo is None:
            published = None  # a date without a zone cannot be given as a feed/sitemap time
        pages.append(
            StoryPage(
                key=name,
                path=path,
                html=html,
                title=" ".join(title.split())[:300],
                body=truth.get("body") or "",
                published=published,
                lang=(row["lang"] or None),
                site_name=site_name.group(1).decode("utf-8", "replace") if site_name else None,
            )
        )
        if is_non_article(row):
            non_articles.add(name)
    return pages, non_articles


def assign(pages: list[StoryPage], non_articles: set[str]) -> dict[str, list[StoryPage]]:
    """Round-robin over the four sites; the corpus's non-article pages go to the sitemap and
    links sites only (a news sitemap or feed does not list a homepage)."""
    sites: dict[str, list[StoryPage]] = {p: [] for p in PATHS}
    used: dict[str, set[str]] = {p: set() for p in PATHS}
    for i, page in enumerate(pages):
        choices = ("sitemap", "links") if page.key in non_articles else PATHS
        site = choices[i % len(choices)]
        if page.path.lower() in used[site] or page.path in ("/robots.txt",):
            page.path = f"/dup/{page.key}{page.path}"
        used[site].add(page.path.lower())
        sites[site].append(page)
    return sites


def crawl(db: Path, urls: list[str], log: Path) -> float:
    start = time.monotonic()
    cmd = [
        CLI, "crawl", "--local", "--quiet",
        "--max-pages", "5000", "--db", str(db), "--log-file", str(log), *urls,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"crawl failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return time.monotonic() - start


def export(db: Path, out: Path) -> list[dict[str, object]]:
    cmd = [
        CLI, "export", "--format", "jsonl",
        "--include-duplicates", "--db", str(db), "-o", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line]


def score(
    web: MultiSiteWeb, records: list[dict[str, object]], non_articles: set[str]
) -> dict[str, object]:
    site_by_base = {web.base(s): s for s in (*PATHS, SYNDICATOR)}
    truth: dict[str, tuple[str, str]] = {}  # page key → (site, story key)
    for site in (*PATHS, SYNDICATOR):
        for path, key in web.article_paths(site).items():
            truth[page_key(web.url(site, path))] = (site, key)
    found: dict[tuple[str, str], dict[str, object]] = {}
    false_records = []
    for rec in records:
        hit = truth.get(page_key(str(rec["url"]))) or truth.get(page_key(str(rec["canonical_url"])))
        if hit is None or (hit[1] in non_articles and hit[0] != SYNDICATOR):
            false_records.append(str(rec["url"]))
            continue
        found.setdefault(hit, rec)
    per_site: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_script: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: list[str] = []
    for site in PATHS:
        for story in web.stories[site]:
            if story.key in non_articles:
                continue
            script = SCRIPT_BY_LANG.get((story.lang or "")[:2]) or script_of(
                story.title + " " + story.body
            )
            hit = (site, story.key) in found
            for bucket in (per_site[site], per_script[script]):
                bucket[0] += hit
                bucket[1] += 1
            if not hit:
                misses.append(f"{site} {story.key} {story.path}")
    # originals: the copy points at the first publisher's record, which is itself an original
    right = linked_wrong = unlinked = 0
    wrong: list[str] = []
    for rep in web.republications:
        copy = found.get((SYNDICATOR, rep.story.key))
        origin = found.get((rep.origin, rep.story.key))
        if copy is None or origin is None:
            continue
        if copy.get("duplicate_of") == origin["id"] and origin.get("duplicate_of") is None:
            right += 1
        elif copy.get("duplicate_of") is None and origin.get("duplicate_of") is None:
            unlinked += 1
            wrong.append(f"unlinked {rep.story.key} (style {rep.style % 6})")
        else:
            linked_wrong += 1
            wrong.append(f"reversed {rep.story.key} (style {rep.style % 6})")
    counts = web.fetch_counts()
    article_fetches = [
        counts.get((site, path), 0)
        for site in (*PATHS, SYNDICATOR)
        for path in web.article_paths(site)
        if counts.get((site, path), 0)
    ]
    twice = sum(1 for c in article_fetches if c > 1)
    true_records = len(records) - len(false_records)
    return {
        "records": len(records),
        "precision": true_records / len(records) if records else 0.0,
        "false_records": false_records,
        "per_site": {k: (v[0], v[1], v[0] / v[1] if v[1] else 0.0) for k, v in per_site.items()},
        "per_script": {
            k: (v[0], v[1], v[0] / v[1] if v[1] else 0.0) for k, v in sorted(per_script.items())
        },
        "misses": misses,
        "robots_violations": web.robots_violations(),
        "article_pages_fetched": len(article_fetches),
        "fetched_twice": twice,
        "syndicated": len(web.republications),
        "originals_right": right,
        "originals_reversed": linked_wrong,
        "originals_unlinked": unlinked,
        "originals_wrong": wrong,
        "site_by_base": site_by_base,
    }


def report(result: dict[str, object], seconds: float) -> None:
    print(f"crawl time {seconds:.0f} s, {result['records']} exported records")
    print("recall per discovery path:")
    for site, (hit, total, share) in result["per_site"].items():  # type: ignore[attr-defined]
        print(f"  {site:10s} {hit:4d}/{total:<4d} {share:.3f}")
    print("recall per script:")
    for script, (hit, total, share) in result["per_script"].items():  # type: ignore[attr-defined]
        print(f"  {script:10s} {hit:4d}/{total:<4d} {share:.3f}")
    print(f"precision {result['precision']:.3f} ({len(result['false_records'])} false records)")  # type: ignore[arg-type]
    for url in result["false_records"]:  # type: ignore[attr-defined]
        print(f"  false: {url}")
    print(f"robots violations {len(result['robots_violations'])}")  # type: ignore[arg-type]
    fetched = result["article_pages_fetched"]
    print(f"article pages fetched twice {result['fetched_twice']}/{fetched}")
    syn = result["syndicated"]
    print(
        f"originals: {result['originals_right']}/{syn} right, {result['originals_reversed']} "
        f"reversed, {result['originals_unlinked']} not linked"
    )
    for line in result["originals_wrong"]:  # type: ignore[attr-defined]
        print(f"  {line}")
    print(f"misses ({len(result['misses'])}):")  # type: ignore[arg-type]
    for line in result["misses"]:  # type: ignore[attr-defined]
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus"))
    parser.add_argument("--order", choices=("syndicator-first", "origin-first"),
                        default="syndicator-first")  # fmt: skip
    parser.add_argument("--limit", type=int, help="only the first N corpus pages")
    parser.add_argument("--keep", type=Path, help="keep the archive here")
    parser.add_argument("--json", type=Path, help="also write the scores as JSON")
    args = parser.parse_args()
    pages, non_articles = load_corpus(args.corpus, args.limit)
    sites = assign(pages, non_articles)
    with tempfile.TemporaryDirectory() as tmp, MultiSiteWeb(sites) as web:
        db = args.keep or Path(tmp) / "recall.db"
        origins = [web.base(s) + "/" for s in PATHS]
        syndicator = [web.base(SYNDICATOR) + "/"]
        order = [syndicator, origins] if args.order == "syndicator-first" else [origins, syndicator]
        seconds = sum(crawl(db, urls, Path(tmp) / f"crawl{i}.log") for i, urls in enumerate(order))
        records = export(db, Path(tmp) / "export.jsonl")
        result = score(web, records, non_articles)
        print(
            f"{len(pages)} corpus pages ({len(non_articles)} not articles), "
            f"{len(web.republications)} republished; order {args.order}"
        )
        report(result, seconds)
        if args.json:
            result.pop("site_by_base")
            args.json.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
        print(Counter(m.split()[0] for m in result["misses"]))  # type: ignore[union-attr]


if __name__ == "__main__":
    main()
