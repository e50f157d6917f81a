"""Extraction benchmark: newsarchive.extract against bare trafilatura and newspaper4k.

Every extractor sees the same page bytes and URL. A field is scored only on pages whose corpus
record lists it in ``known`` (the corpus is partially annotated by design), so each column has its
own denominator, printed in the table. Speed is pages per second of single-process CPU time
summed per extractor, so ``--jobs`` changes the wall time of the run, not the comparison; the
``CPU/page`` column is each extractor's CPU time per page divided by bare trafilatura's, measured
in the same run. The extractors take turns going first on successive pages, so none of them pays
alone for the one-off costs they share (dateparser's per-language regex compilation, lxml and
module imports), and each worker first runs every extractor once, untimed, on a small built-in
page (imports and lazy set-up are paid once per process, not per page).

newsarchive's author credit is ``authors`` followed by ``organisations``: the corpus lists a byline's
agencies and desks ("dpa", "AFP", "Redaktion") among its authors, and newsarchive keeps those in a
field of their own. Author sets are compared name by name: the corpus' ``authors`` are its
sources' annotations, a list of names (fundus) or one byline string split on ";" (trafilatura's
set, where an annotation often reads "Jane Doe und John Roe" or "By A, B & C"). So, on both sides
alike and for every extractor, each credit is split on the separators a byline uses between names
(``;`` ``,`` ``&`` ``/`` ``|`` and the word "and" in a dozen languages) and a leading byline word
("By", "Von", "Par"...) is dropped before the sets are compared; nothing else is normalised.

The per-language table groups pages by the corpus' ``lang`` (from ``<html lang>``), or, where the
page declares none, by a script/stop-word guess on the annotated title and body.

The CPU ratio is the median of ``--repeat`` rounds (3 by default). Round 1 runs every extractor
and scores the fields; each further round times newsarchive and bare trafilatura again on every
page, in a fresh process pool (so no page meets its own earlier run in a cache of either), still
taking turns on which goes first. On a shared machine one round's ratio moves by ±0.07 with the
other jobs' cache and memory traffic; the median of three rounds is what the table reports, and
every round's ratio is printed under it. newspaper4k is timed in round 1 only.

Usage::

    python bench/extraction.py --corpus ../shared/corpus [--limit N] [--jobs N] [--repeat N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import re
import statistics
import sys
import time
import unicodedata
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
EXTRACTORS = ("newsarchive", "trafilatura", "newspaper4k")
FETCHED_AT = datetime.now(UTC)  # pages were fetched before the run; "now" bounds them


@dataclass(slots=True)
class Prediction:
    title: str | None = None
    body: str | None = None
    published: date | None = None
    authors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _run_newsarchive(html: bytes, url: str) -> Prediction:
    from newsarchive.extraction import extract

    article = extract(html, url, FETCHED_AT)
    if article is None:
        return Prediction()
    published = article.published.date() if article.published else None
    credits = [*article.authors, *article.organisations]
    return Prediction(article.title, article.body, published, credits)


def _run_trafilatura(html: bytes, url: str) -> Prediction:
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if doc is None:
        return Prediction()
    published = None
    if doc.date:
        try:
            published = date.fromisoformat(doc.date[:10])
        except ValueError:
            published = None
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return Prediction(doc.title, doc.text, published, authors)


def _run_newspaper(html: bytes, url: str) -> Prediction:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import newspaper

    from newsarchive.extraction.charset import decode_html

    text = decode_html(html, None) or ""
    # fetch_images=False: newspaper4k would otherwise download images to size them (network I/O)
    art = newspaper.Article(url or "http://example.invalid/", fetch_images=False)
    art.download(input_html=text)
    art.parse()
    published = art.publish_date.date() if art.publish_date else None
    return Prediction(art.title or None, art.text or None, published, list(art.authors))


WARM_UP_PAGE = (
    "<html lang='en'><head><title>Warm-up</title>"
    '<meta property="article:published_time" content="2024-04-26T08:00:00+02:00"></head>'
    "<body><article><h1>Warm-up</h1><p class='byline'>By Jane Doe, 26 April 2024</p>"
    + "<p>The plant raised its output again this quarter, the union said on Friday.</p>" * 8
    + "</article></body></html>"
).encode()


def _warm_up(extractors: list[str]) -> None:
    """Pay imports and lazy set-up once per worker, untimed, so pages measure page work only."""
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    for name in extractors:
        try:
            RUNNERS[name](WARM_UP_PAGE, "https://warm-up.invalid/2024/04/26/x")
        except Exception:  # noqa: BLE001 - warm-up only; the timed run reports failures
            logger.debug("warm-up of %s failed", name)


RUNNERS = {
    "newsarchive": _run_newsarchive,
    "trafilatura": _run_trafilatura,
    "newspaper4k": _run_newspaper,
}


def _evaluate_page(
    args: tuple[str, list[str], int],
) -> tuple[dict[str, Any], dict[str, Prediction]]:
    """Run every extractor on one page (in a worker process) and return truth + predictions."""
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    path, extractors, turn = args
    base = Path(path)
    truth = json.loads(base.with_name(base.name + ".json").read_text(encoding="utf-8"))
    with gzip.open(base.with_name(base.name + ".html.gz"), "rb") as fh:
        html = fh.read()
    url = truth.get("url") or f"https://unknown.invalid/{truth['id']}"
    predictions: dict[str, Prediction] = {}
    turn %= len(extractors)
    for name in extractors[turn:] + extractors[:turn]:
        start = time.process_time()
        try:
            pred = RUNNERS[name](html, url)
        except Exception:  # noqa: BLE001 - a crash is a miss on every field for that extractor
            pred = Prediction()
        pred.seconds = time.process_time() - start
        predictions[name] = pred
    return truth, {name: predictions[name] for name in extractors}


_TOKEN = re.compile(r"\w+", re.UNICODE)
_QUOTES = str.maketrans(
    dict.fromkeys("“”„«»‟″", '"') | dict.fromkeys("‘’‚‹›`´′", "'") | dict.fromkeys("‐‑‒–—―−", "-")
)


def tokens(text: str | None) -> list[str]:
    return _TOKEN.findall((text or "").casefold())


def token_f1(predicted: str | None, expected: str) -> float:
    pred, gold = Counter(tokens(predicted)), Counter(tokens(expected))
    if not pred or not gold:
        return 1.0 if pred == gold else 0.0
    common = sum((pred & gold).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(pred.values()), common / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


def norm_text(text: str | None) -> str:
    """Compared as read: NFKC, one spelling per quote and dash, no invisible format characters
    (a soft hyphen, a zero-width space), case and runs of white space folded."""
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.casefold().split())


# between two names in a byline: punctuation, or "and" in the corpus' languages (as a word)
_NAME_SEPARATOR = re.compile(
    r"\s*(?:[;,&/|]|\s(?:and|und|et|y|e|i|en|og|och|ja|dan|и)\s)\s*", re.IGNORECASE
)
_BYLINE_WORD = re.compile(r"^(?:by|von|par|di|por|door|oleh|av|af|przez)\s+(?=\S)", re.IGNORECASE)


def norm_authors(names: list[str] | None) -> frozenset[str]:
    """The credited names, compared name by name (see the module docstring)."""
    out: set[str] = set()
    for value in names or []:
        for piece in _NAME_SEPARATOR.split(norm_text(value)):
            name = _BYLINE_WORD.sub("", piece).strip(" .:-")
            if name:
                out.add(name)
    return frozenset(out)


def truth_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@dataclass(slots=True)
class Score:
    body_f1: list[float] = field(default_factory=list)
    title: list[bool] = field(default_factory=list)
    published: list[bool] = field(default_factory=list)
    authors: list[bool] = field(default_factory=list)
    seconds: float = 0.0
    pages: int = 0
    # CPU seconds of each round, round 1 first (only the timed rounds this extractor ran in)
    rounds: list[float] = field(default_factory=list)

    def cpu_seconds(self) -> float:
        """The median round's CPU seconds (round 1's when it ran in no other)."""
        return statistics.median(self.rounds) if self.rounds else self.seconds


TIMED_EXTRACTORS = ("newsarchive", "trafilatura")


def round_ratios(scores: dict[str, Score], name: str = "newsarchive") -> list[float]:
    """``name``'s CPU over bare trafilatura's, per round."""
    mine, base = scores.get(name), scores.get("trafilatura")
    if mine is None or base is None:
        return []
    return [m / b for m, b in zip(mine.rounds, base.rounds, strict=False) if b]


LANGUAGES = ("en", "de", "fr", "it", "es", "pt", "zh", "ja")


def page_language(truth: dict[str, Any]) -> str:
    """The page's language for the per-language table: declared, else guessed from the truth."""
    from newsarchive.extraction.lang import guess_language

    lang = (truth.get("lang") or "").lower()[:2]
    if not lang:
        text = " ".join(v for v in (truth.get("title"), truth.get("body")) if v)
        lang = guess_language(text) or ""
    return lang if lang in LANGUAGES else "other"


def score(results: list[tuple[dict[str, Any], dict[str, Prediction]]]) -> dict[str, Score]:
    scores: dict[str, Score] = {}
    for truth, predictions in results:
        known = set(truth.get("known") or [])
        for name, pred in predictions.items():
            s = scores.setdefault(name, Score())
            s.pages += 1
            s.seconds += pred.seconds
            if "body" in known and truth.get("body"):
                s.body_f1.append(token_f1(pred.body, truth["body"]))
            if "title" in known and truth.get("title"):
                s.title.append(norm_text(pred.title) == norm_text(truth["title"]))
            if "published" in known and truth.get("published"):
                s.published.append(pred.published == truth_day(truth["published"]))
            if "authors" in known and truth.get("authors") is not None:
                s.authors.append(norm_authors(pred.authors) == norm_authors(truth["authors"]))
    return scores


def _pct(values: list[bool]) -> str:
    return f"{100 * sum(values) / len(values):.1f}%" if values else "n/a"


def table(scores: dict[str, Score]) -> str:
    first = next(iter(scores.values()))
    base = scores.get("trafilatura")
    header = (
        f"| extractor | body F1 mean (n={len(first.body_f1)}) | body F1 median "
        f"| title exact (n={len(first.title)}) | published day (n={len(first.published)}) "
        f"| authors set (n={len(first.authors)}) | pages/CPU-s | CPU/page vs trafilatura |"
    )
    lines = [header, "|" + "---|" * 8]
    for name, s in scores.items():
        mean = f"{statistics.fmean(s.body_f1):.3f}" if s.body_f1 else "n/a"
        median = f"{statistics.median(s.body_f1):.3f}" if s.body_f1 else "n/a"
        seconds = s.cpu_seconds()
        speed = f"{s.pages / seconds:.1f}" if seconds else "n/a"
        ratios = round_ratios(scores, name)
        if len(ratios) > 1:
            ratio = f"{statistics.median(ratios):.2f}x"
        elif base and base.seconds and s.pages:
            ratio = f"{(s.seconds / s.pages) / (base.seconds / base.pages):.2f}x"
        else:
            ratio = "n/a"
        lines.append(
            f"| {name} | {mean} | {median} | {_pct(s.title)} | {_pct(s.published)} "
            f"| {_pct(s.authors)} | {speed} | {ratio} |"
        )
    return "\n".join(lines)


def language_table(results: list[tuple[dict[str, Any], dict[str, Prediction]]]) -> str:
    """Per language: each extractor's field scores on that language's pages (n per cell)."""
    groups: dict[str, list[tuple[dict[str, Any], dict[str, Prediction]]]] = {}
    for result in results:
        groups.setdefault(page_language(result[0]), []).append(result)
    lines = [
        (
            "| lang | pages | extractor | body F1 (n) | title exact (n) | published day (n) "
            "| authors set (n) |"
        ),
        "|" + "---|" * 7,
    ]
    for lang in (*LANGUAGES, "other"):
        for name, s in score(groups.get(lang, [])).items():
            body = f"{statistics.fmean(s.body_f1):.3f} ({len(s.body_f1)})" if s.body_f1 else "n/a"
            lines.append(
                f"| {lang} | {s.pages} | {name} | {body} | {_pct(s.title)} ({len(s.title)}) "
                f"| {_pct(s.published)} ({len(s.published)}) | {_pct(s.authors)} "
                f"({len(s.authors)}) |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=0, help="first N pages (0 = all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--extractors", default=",".join(EXTRACTORS))
    parser.add_argument("--prefix", default="", help="only pages whose name starts with this")
    parser.add_argument("--dump", type=Path, help="write per-page predictions as JSON lines")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timing rounds for the CPU ratio (median reported)"
    )
    args = parser.parse_args(argv)

    extractors = [e for e in args.extractors.split(",") if e]
    unknown = set(extractors) - set(RUNNERS)
    if unknown:
        parser.error(f"unknown extractor(s): {', '.join(sorted(unknown))}")
    pages = sorted(p for p in args.corpus.glob(f"{args.prefix}*.html.gz"))
    if args.limit:
        pages = pages[: args.limit]
    if not pages:
        parser.error(f"no pages in {args.corpus}")
    work = [(str(p).removesuffix(".html.gz"), extractors, i) for i, p in enumerate(pages)]

    wall = time.perf_counter()
    if args.jobs <= 1:
        _warm_up(extractors)
        results = [_evaluate_page(w) for w in work]
    else:
        with ProcessPoolExecutor(args.jobs, initializer=_warm_up, initargs=(extractors,)) as pool:
            results = list(pool.map(_evaluate_page, work, chunksize=4))
    scores = score(results)
    for s in scores.values():
        s.rounds.append(s.seconds)
    timed = [e for e in extractors if e in TIMED_EXTRACTORS]
    for round_no in range(1, args.repeat if "trafilatura" in timed and len(timed) > 1 else 1):
        again = [(path, timed, turn + round_no) for path, _, turn in work]
        # a fresh pool per round: no page meets its own earlier run in a cache
        with ProcessPoolExecutor(
            max(args.jobs, 1), initializer=_warm_up, initargs=(timed,)
        ) as pool:
            seconds = Counter[str]()
            for _, predictions in pool.map(_evaluate_page, again, chunksize=4):
                for name, pred in predictions.items():
                    seconds[name] += pred.seconds
        for name in timed:
            scores[name].rounds.append(seconds[name])
    wall = time.perf_counter() - wall

    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for truth, predictions in results:
                row = {
                    name: {
                        "title": p.title,
                        "published": p.published.isoformat() if p.published else None,
                        "authors": p.authors,
                        "body_f1": token_f1(p.body, truth["body"]) if truth.get("body") else None,
                    }
                    for name, p in predictions.items()
                }
                row["truth"] = {k: truth.get(k) for k in ("id", "title", "published", "authors")}
                row["truth"]["known"] = truth.get("known")
                out.write(json.dumps(row, ensure_ascii=False) + "\n")

    print(table(scores))
    ratios = round_ratios(scores)
    if len(ratios) > 1:
        print(
            "\nnewsarchive/trafilatura CPU per round: "
            + ", ".join(f"{r:.2f}x" for r in ratios)
            + f" (median {statistics.median(ratios):.2f}x)"
        )
    print()
    print(language_table(results))
    print(f"\n{len(pages)} pages, {args.jobs} jobs, {wall:.1f} s wall", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
