"""List every title and author miss of newsarchive on the corpus, with the candidates it saw.

For each page whose title or authors are annotated, the extraction is run once and the
candidates the fusion weighed are recorded beside the result: the JSON-LD headlines, the title
meta, trafilatura's title, the ``<title>`` tag, the visible ``<h1>`` and headline elements for
titles; every author source in precedence order for authors. Each miss is put in one class,
so that a rule's effect can be read class by class and language by language::

    python bench/fieldmisses.py --corpus ../shared/corpus [--field title|authors] [--show N]
    python bench/fieldmisses.py --corpus ../shared/corpus --save run.jsonl   # keep the run
    python bench/fieldmisses.py --load run.jsonl --diff other.jsonl        # what changed

Scoring is the benchmark's own (:mod:`bench.extraction`): exact normalised title, author set
compared name by name.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extraction import (  # bench/ is not a package: its sibling, by path
    DEFAULT_CORPUS,
    FETCHED_AT,
    norm_authors,
    norm_text,
    page_language,
)


def _run(path: str) -> dict[str, Any]:
    import logging
    import warnings

    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    import newsarchive.extraction as ex
    from newsarchive.extraction.metadata import AUTHOR_KEYS, TITLE_KEYS

    base = Path(path)
    truth = json.loads(base.with_name(base.name + ".json").read_text(encoding="utf-8"))
    with gzip.open(base.with_name(base.name + ".html.gz"), "rb") as fh:
        html = fh.read()
    url = truth.get("url") or f"https://unknown.invalid/{truth['id']}"
    seen: dict[str, Any] = {}
    collect, traf = ex.collect, ex.read_page

    def spy_collect(tree: Any) -> Any:
        seen["page"] = collect(tree)
        return seen["page"]

    def spy_traf(*args: Any) -> Any:
        reading = traf(*args)
        if reading is not None:
            reading.byline()  # trafilatura's candidate, shown even where the fusion needs none
        seen["doc"] = reading.doc if reading is not None else None
        return reading

    ex.collect, ex.read_page = spy_collect, spy_traf  # type: ignore[assignment]
    try:
        article = ex.extract(html, url, FETCHED_AT)
    except Exception as exc:  # noqa: BLE001 - a crash is a miss, recorded
        article, seen["error"] = None, repr(exc)
    finally:
        ex.collect, ex.read_page = collect, traf  # type: ignore[assignment]
    page, doc = seen.get("page"), seen.get("doc")
    row: dict[str, Any] = {
        "id": truth["id"],
        "lang": page_language(truth),
        "known": truth.get("known") or [],
        "truth_title": truth.get("title"),
        "truth_authors": truth.get("authors"),
        "title": article.title if article else None,
        "authors": list(article.authors) if article else [],
        "organisations": list(article.organisations) if article else [],
        "site_name": article.site_name if article else None,
        "url": url,
    }
    if page is not None:
        row["title_candidates"] = {
            "jsonld": [a.headline for a in page.jsonld if a.headline],
            "meta": page.all(TITLE_KEYS),
            "trafilatura": doc.title if doc is not None else None,
            "title_tag": page.title_tag,
            "h1": page.h1,
            "h1_headline": page.h1_headline,
            "headlines": page.headlines,
        }
        row["author_sources"] = {
            "jsonld": [n for a in page.jsonld if a.is_article for n in a.authors],
            "meta": page.all(AUTHOR_KEYS),
            "itemprop": page.itemprop_authors,
            "rel": page.rel_authors,
            "bylines": page.bylines,
            "prefixed": page.prefixed_bylines,
            "trafilatura": doc.author if doc is not None else None,
        }
    return row


def title_ok(row: dict[str, Any]) -> bool | None:
    if "title" not in row["known"] or not row["truth_title"]:
        return None
    return norm_text(row["title"]) == norm_text(row["truth_title"])


def authors_ok(row: dict[str, Any]) -> bool | None:
    if "authors" not in row["known"] or row["truth_authors"] is None:
        return None
    credits = [*row["authors"], *row["organisations"]]
    return norm_authors(credits) == norm_authors(row["truth_authors"])


def title_class(row: dict[str, Any]) -> str:
    truth, got = norm_text(row["truth_title"]), norm_text(row["title"])
    cands = row.get("title_candidates") or {}
    values = [*cands.get("jsonld", []), *(v for _, v in cands.get("meta", []))]
    values += [cands.get("trafilatura"), cands.get("title_tag"), *cands.get("h1", [])]
    values += cands.get("headlines", [])
    normed = [norm_text(v) for v in values if v]
    if not got:
        return "none"
    if truth in got:
        return "affix kept"
    if got in truth:
        return "cut too much"
    if truth in normed:
        return "other candidate"
    if any(truth in v for v in normed):
        return "inside a candidate"
    return "on no candidate"


def authors_class(row: dict[str, Any]) -> str:
    truth = norm_authors(row["truth_authors"])
    got = norm_authors([*row["authors"], *row["organisations"]])
    if not got:
        return "none found" if truth else "found, truth empty"
    if not truth:
        return "truth empty"
    if got & truth:
        return "extra name" if got > truth else ("missing name" if got < truth else "partial")
    return "other name"


def _print_miss(row: dict[str, Any], field: str) -> None:
    print(f"--- {row['id']} [{row['lang']}] {row['url']}")
    if field == "title":
        print(f"    truth: {row['truth_title']!r}\n    got:   {row['title']!r}")
        print(f"    site:  {row['site_name']!r}")
        for key, value in (row.get("title_candidates") or {}).items():
            print(f"    {key:11} {value!r}")
    else:
        print(f"    truth: {row['truth_authors']!r}")
        print(f"    got:   {row['authors']!r} orgs {row['organisations']!r}")
        for key, value in (row.get("author_sources") or {}).items():
            if value:
                print(f"    {key:11} {value!r}")


def report(rows: list[dict[str, Any]], field: str, show: int) -> None:
    check, classify = (title_ok, title_class) if field == "title" else (authors_ok, authors_class)
    by_lang: dict[str, list[bool]] = defaultdict(list)
    classes: Counter[str] = Counter()
    shown = 0
    for row in rows:
        ok = check(row)
        if ok is None:
            continue
        by_lang[row["lang"]].append(ok)
        if not ok:
            cls = classify(row)
            classes[cls] += 1
            if shown < show:
                print(f"[{cls}]", end=" ")
                _print_miss(row, field)
                shown += 1
    total = [v for vs in by_lang.values() for v in vs]
    print(f"\n{field}: {sum(total)}/{len(total)} = {100 * sum(total) / max(len(total), 1):.1f}%")
    for lang, values in sorted(by_lang.items(), key=lambda kv: -len(kv[1])):
        print(
            f"  {lang:6} {sum(values):4}/{len(values):<4} {100 * sum(values) / len(values):5.1f}%"
        )
    for cls, n in classes.most_common():
        print(f"  miss class {cls!r}: {n}")


def diff(old: list[dict[str, Any]], new: list[dict[str, Any]], field: str) -> None:
    """Pages whose verdict changed between two saved runs: what a rule fixed and broke."""
    check = title_ok if field == "title" else authors_ok
    before = {r["id"]: r for r in old}
    for row in new:
        prev = before.get(row["id"])
        if prev is None:
            continue
        a, b = check(prev), check(row)
        if a is None or a == b:
            continue
        key = "title" if field == "title" else "authors"
        was = prev[key] if field == "title" else [*prev["authors"], *prev["organisations"]]
        now = row[key] if field == "title" else [*row["authors"], *row["organisations"]]
        truth = row["truth_title"] if field == "title" else row["truth_authors"]
        print(f"{'FIXED ' if b else 'BROKEN'} {row['id']} [{row['lang']}] truth={truth!r}")
        print(f"       was={was!r}\n       now={now!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--field", choices=("title", "authors", "both"), default="both")
    parser.add_argument("--show", type=int, default=1000, help="misses to print per field")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--save", type=Path, help="write the rows as JSON lines")
    parser.add_argument("--load", type=Path, help="read rows saved by --save instead of running")
    parser.add_argument("--diff", type=Path, help="a later --save file to compare --load with")
    args = parser.parse_args(argv)
    fields = ("title", "authors") if args.field == "both" else (args.field,)

    if args.load:
        rows = [json.loads(line) for line in args.load.open(encoding="utf-8")]
    else:
        paths = []
        for p in sorted(args.corpus.glob(f"{args.prefix}*.json")):
            known = set(json.loads(p.read_text(encoding="utf-8")).get("known") or [])
            if known & {"title", "authors"}:
                paths.append(str(p).removesuffix(".json"))
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(_run, paths, chunksize=4))
    if args.save:
        with args.save.open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    if args.diff:
        new = [json.loads(line) for line in args.diff.open(encoding="utf-8")]
        for field in fields:
            diff(rows, new, field)
        return 0
    for field in fields:
        report(rows, field, args.show)
    return 0


if __name__ == "__main__":
    sys.exit(main())
