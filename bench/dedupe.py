"""Cost of storing one article (with its near-duplicate lookup) as the archive grows.

    python bench/dedupe.py                      # SQLite file in a temporary directory
    python bench/dedupe.py --db postgresql://postgres@127.0.0.1:5432/bench
    python bench/dedupe.py --sweep              # precision/recall of the threshold on fixtures
    python bench/dedupe.py --sweep-translations # the same for translation links

The archive is seeded with synthetic distinct articles (bulk inserts: rows, signatures, LSH
bands), then ``--measure`` fresh pages, a tenth of them reworked copies of seeded articles, are
stored one transaction each through ``save_page``. The same is repeated after growing the
archive to the second size. A persisted LSH index should make the two costs about equal.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from newsarchive.archive import open_archive
from newsarchive.archive.models import AnchorBand, ArticleAnchor, ArticleSignature, LshBand
from newsarchive.archive.models import Article as ArticleRow
from newsarchive.archive.store import ensure_source, save_page
from newsarchive.extraction import fingerprint
from newsarchive.items import Article, FetchedPage

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "syndication"
CORPUS = ROOT.parent / "shared" / "corpus"
SEED_CHUNK = 2000
START = datetime(2026, 1, 1, tzinfo=UTC)


def _vocabulary(size: int = 20_000) -> tuple[list[str], list[float]]:
    """Pseudo-words with Zipf weights, so synthetic articles share common words and phrases."""
    rng = random.Random(7)
    letters = "abcdefghijklmnoprstuvwy"
    words = ["".join(rng.choices(letters, k=rng.randint(2, 9))) for _ in range(size)]
    return words, list(itertools.accumulate(1 / (rank + 1) for rank in range(size)))


WORDS, CUM_WEIGHTS = _vocabulary()


def synthetic_body(n: int, words: int = 220) -> str:
    """Pseudo-words, about one in eight capitalised (names) and one in thirty a number.

    Names come from the same Zipf-weighted vocabulary, so common ones recur across articles the
    way "China" or "Reuters" do, and the anchor-band index sees realistic collisions.
    """
    rng = random.Random(n)
    tokens = rng.choices(WORDS, cum_weights=CUM_WEIGHTS, k=words)
    for i in range(1, words):
        roll = rng.random()
        if roll < 0.12:
            tokens[i] = tokens[i].capitalize()
        elif roll < 0.153:
            tokens[i] = str(rng.choice((rng.randint(2, 99), rng.randint(1990, 2030))))
    return "\n".join(" ".join(tokens[i : i + 40]) + "." for i in range(0, words, 40))


def translated(body: str, n: int) -> str:
    """Every lowercase word replaced, a fifth of the names and numbers dropped: a text sharing
    no word shingle with ``body`` but the order of its anchors."""
    rng = random.Random(n)
    out = []
    for word in body.replace(".", " .").split():
        if word == ".":
            out[-1] += "."
        elif word[0].isupper() or word[0].isdigit():
            if rng.random() >= 0.2:
                out.append(word)
        else:
            salted = f"{n} {word}".encode()
            out.append("x" + hashlib.blake2b(salted, digest_size=4).hexdigest())
    return " ".join(out)


def _seed_rows(n: int) -> tuple[dict[str, Any], bytes, tuple[tuple[int, int], ...], Any]:
    body = synthetic_body(n)
    fp = fingerprint.fingerprint(body)
    row = {
        "url": f"https://seed.example/a/{n}",
        "canonical_url": f"https://seed.example/a/{n}",
        "title": f"Seeded article {n}",
        "body": body,
        "published": START + timedelta(minutes=n),
        "word_count": len(body.split()),
        "content_sha256": fp.content_sha256,
        "first_seen": START + timedelta(minutes=n),
        "last_seen": START + timedelta(minutes=n),
        "date_flags": [],
        "authors": [],
        "organisations": [],
        "tags": [],
        "companies": [],
        "lang": "en",
        "version": 1,
    }
    return row, fp.minhash, fp.bands, fp


def _day(n: int) -> int:
    return (START + timedelta(minutes=n) - datetime(1970, 1, 1, tzinfo=UTC)).days


def seed(archive: Any, start: int, stop: int, pool: ProcessPoolExecutor) -> float:
    t0 = time.perf_counter()
    with archive.session() as session:
        source_id = ensure_source(session, "seed")
    for lo in range(start, stop, SEED_CHUNK):
        ids = range(lo, min(stop, lo + SEED_CHUNK))
        made = list(pool.map(_seed_rows, ids, chunksize=200))
        with archive.session() as session:
            rows = [{**row, "source_id": source_id} for row, _, _, _ in made]
            article_ids = session.scalars(insert(ArticleRow).returning(ArticleRow.id), rows).all()
            conn = session.connection()  # Core executemany: no ORM bookkeeping per row
            conn.execute(
                ArticleSignature.__table__.insert(),
                [
                    {"article_id": a, "minhash": m}
                    for a, (_, m, _, _) in zip(article_ids, made, strict=True)
                ],
            )
            conn.execute(
                LshBand.__table__.insert(),
                [
                    {"band": band, "key": key, "article_id": a}
                    for a, (_, _, bands, _) in zip(article_ids, made, strict=True)
                    for band, key in bands
                ],
            )
            conn.execute(
                ArticleAnchor.__table__.insert(),
                [
                    {"article_id": a, "anchors": fp.anchors}
                    for a, (_, _, _, fp) in zip(article_ids, made, strict=True)
                    if fp.anchor_bands
                ],
            )
            conn.execute(
                AnchorBand.__table__.insert(),
                [
                    {"band": band, "key": key, "day": _day(n), "article_id": a}
                    for n, a, (_, _, _, fp) in zip(ids, article_ids, made, strict=True)
                    for band, key in fp.anchor_bands
                ],
            )
    return time.perf_counter() - t0


def fresh_page(n: int, first: int, stored: int) -> tuple[FetchedPage, fingerprint.Fingerprint]:
    """A new distinct article, or every tenth a reworked copy of a stored one, or every tenth
    (offset 5) a translation of one. Each is dated among the seeded articles, so the
    translation lookup probes days as crowded as the archive's. Copies and translations are of
    articles seeded since ``first``, so no earlier round's plant is matched instead."""
    seeded = first + (n * 7919) % (stored - first)
    lang = "en"
    if n % 10 == 0:
        original = synthetic_body(seeded).splitlines()
        body = "\n".join(["Republished from our partners: a new intro line.", *original[:-1]])
    elif n % 10 == 5:
        body, lang = translated(synthetic_body(seeded), stored + n), "fr"
    else:
        body = synthetic_body(10_000_000 + 1000 * stored + n)
    url = f"https://fresh.example/{stored}/{n}"
    page = FetchedPage(
        url=url,
        requested_url=url,
        status=200,
        body=body.encode(),
        fetched_at=datetime.now(UTC),
        source="fresh",
        article=Article(
            url=url,
            canonical_url=url,
            title=f"Fresh {n}",
            body=body,
            published=START + timedelta(minutes=seeded, hours=20),
            lang=lang,
        ),
    )
    return page, fingerprint.fingerprint(body)


def measure(archive: Any, first: int, stored: int, count: int) -> dict[str, float]:
    pages = [fresh_page(n, first, stored) for n in range(count)]
    timings = []
    statuses: dict[str, int] = {}
    for page, fp in pages:
        t0 = time.perf_counter()
        with archive.session() as session:
            result = save_page(session, page, fp=fp)
        timings.append(time.perf_counter() - t0)
        status = result.kind or result.status
        statuses[status] = statuses.get(status, 0) + 1
    timings.sort()
    return {
        "mean_ms": 1000 * statistics.fmean(timings),
        "p50_ms": 1000 * timings[len(timings) // 2],
        "p95_ms": 1000 * timings[int(len(timings) * 0.95)],
        "near": statuses.get("near", 0),
        "translation": statuses.get("translation", 0),
        "new": statuses.get("new", 0),
    }


def run_scaling(db: str | None, sizes: list[int], count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        archive = open_archive(db or str(Path(tmp) / "bench.db"))
        print(f"backend: {archive.backend}; {count} saves per size; sizes {sizes}")
        t0 = time.perf_counter()
        fps = [fingerprint.fingerprint(synthetic_body(n)) for n in range(300)]
        print(f"fingerprint: {1000 * (time.perf_counter() - t0) / len(fps):.2f} ms per article")
        results = []
        stored = 0
        with ProcessPoolExecutor(2) as pool:
            for size in sizes:
                first = stored
                seconds = seed(archive, first, size, pool)
                with archive.session() as session:
                    stored = session.scalar(select(func.count()).select_from(ArticleRow)) or 0
                print(f"seeded to {stored} articles in {seconds:.0f} s")
                r = measure(archive, first, stored, count)
                stored += count
                results.append(r)
                print(
                    f"{size:>7} stored: save_page mean {r['mean_ms']:.2f} ms, "
                    f"p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms "
                    f"({r['near']:.0f} near copies of {count // 10} planted, "
                    f"{r['translation']:.0f} translations of {count // 10} planted, "
                    f"{r['new']:.0f} new of {count - count // 5})"
                )
        archive.dispose()
    print(
        f"ratio mean {sizes[-1]}/{sizes[0]}: {results[-1]['mean_ms'] / results[0]['mean_ms']:.2f}"
    )


def _corpus_bodies() -> list[str]:
    bodies = []
    for path in sorted(CORPUS.glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8")).get("body")
        if body and len(body.split()) >= fingerprint.MIN_NEAR_WORDS:
            bodies.append(body)
    return bodies


def run_sweep() -> None:
    """Pairwise precision/recall on the fixtures (plus real corpus articles as negatives)."""
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    docs = [(a["story"], (FIXTURES / a["file"]).read_text()) for a in manifest["articles"]]
    corpus = _corpus_bodies()
    docs += [(f"corpus-{hashlib.sha1(b.encode()).hexdigest()}", b) for b in corpus]
    fps = [fingerprint.fingerprint(body) for _, body in docs]
    pairs = []
    for (i, (sa, _)), (j, (sb, _)) in itertools.combinations(enumerate(docs), 2):
        a, b = fps[i], fps[j]
        candidate = a.content_sha256 == b.content_sha256 or bool(set(a.bands) & set(b.bands))
        pairs.append((sa == sb, candidate, fingerprint.similarity(a.minhash, b.minhash)))
    positives = [s for same, _, s in pairs if same]
    negatives = [s for same, _, s in pairs if not same]
    print(
        f"{len(docs)} documents ({len(corpus)} from the corpus), {len(positives)} duplicate "
        f"pairs, {len(negatives)} distinct pairs"
    )
    print(
        f"lowest duplicate-pair similarity {min(positives):.3f}, highest distinct-pair "
        f"similarity {max(negatives):.3f}"
    )
    print(
        f"LSH candidates: {sum(c for _, c, _ in pairs)} pairs "
        f"({sum(c for same, c, _ in pairs if same)} of the duplicates)"
    )
    print("threshold precision recall false_pos")
    for step in range(1, 19):
        t = step * 0.05
        tp = sum(1 for same, c, s in pairs if same and c and s >= t)
        fp = sum(1 for same, c, s in pairs if not same and c and s >= t)
        fn = len(positives) - tp
        precision = tp / (tp + fp) if tp + fp else 1.0
        print(f"{t:9.2f} {precision:9.3f} {tp / (tp + fn):6.3f} {fp:9d}")


def _corpus_docs() -> list[tuple[str, str | None, str]]:
    docs = []
    for path in sorted(CORPUS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("body") and len(data["body"].split()) >= fingerprint.MIN_NEAR_WORDS:
            docs.append((path.stem, data.get("lang"), data["body"]))
    return docs


def run_translation_sweep() -> None:
    """Precision/recall of translation links over all pairs in two different known languages.

    Documents: the English syndication fixtures, their translations, the independent and
    unrelated articles in other languages, and the corpus bodies (real pages in 15 languages)
    as negatives. Dates are ignored (every pair is inside the window), which only makes it
    harder. A pair is predicted when both texts have anchor bands, they share one and the exact
    score reaches the threshold, as in the store.
    """
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    docs = [
        (a["story"], a.get("lang", "en"), (FIXTURES / a["file"]).read_text(encoding="utf-8"))
        for a in manifest["articles"] + manifest["translations"]
    ]
    corpus = _corpus_docs()
    docs += [(f"corpus-{name}", lang, body) for name, lang, body in corpus]
    fps = [fingerprint.fingerprint(body) for _, _, body in docs]
    texts = [fingerprint.anchor_text(fingerprint.anchor_runs(body)) for _, _, body in docs]
    pairs = []
    same_lang_max = 0.0
    for (i, (sa, la, _)), (j, (sb, lb, _)) in itertools.combinations(enumerate(docs), 2):
        score = fingerprint.anchor_similarity(texts[i], texts[j])
        if (
            la is None
            or lb is None
            or fingerprint.primary_language(la) == fingerprint.primary_language(lb)
        ):
            if sa != sb:
                same_lang_max = max(same_lang_max, score)
            continue
        a, b = fps[i], fps[j]
        candidate = bool(set(a.anchor_bands) & set(b.anchor_bands))
        pairs.append((sa == sb, candidate, score))
    positives = [s for same, _, s in pairs if same]
    negatives = [s for same, _, s in pairs if not same]
    print(
        f"{len(docs)} documents ({len(corpus)} from the corpus), {len(positives)} translation "
        f"pairs, {len(negatives)} other pairs in two different languages"
    )
    print(
        f"lowest translation-pair score {min(positives):.3f}, highest other cross-language "
        f"score {max(negatives):.3f} (same-language distinct pairs: up to {same_lang_max:.3f})"
    )
    print(
        f"indexed (>= {fingerprint.MIN_ANCHOR_PAIRS} anchor pairs): "
        f"{sum(1 for fp in fps if fp.anchor_bands)} of {len(fps)}; anchor-band candidates: "
        f"{sum(c for _, c, _ in pairs)} pairs ({sum(c for same, c, _ in pairs if same)} of the "
        f"translations)"
    )
    # false_pos counts linked pairs; above_t counts every other pair scoring >= t, candidate
    # or not (what a luckier band collision could link)
    print("threshold precision recall false_pos above_t")
    for step in range(2, 21):
        t = step * 0.02
        tp = sum(1 for same, c, s in pairs if same and c and s >= t)
        fp = sum(1 for same, c, s in pairs if not same and c and s >= t)
        above = sum(1 for s in negatives if s >= t)
        fn = len(positives) - tp
        precision = tp / (tp + fp) if tp + fp else 1.0
        print(f"{t:9.2f} {precision:9.3f} {tp / (tp + fn):6.3f} {fp:9d} {above:7d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated archive sizes")
    parser.add_argument("--measure", type=int, default=300, help="saves timed at each size")
    parser.add_argument("--sweep", action="store_true", help="threshold sweep on the fixtures")
    parser.add_argument(
        "--sweep-translations", action="store_true", help="translation threshold sweep"
    )
    args = parser.parse_args(argv)
    if args.sweep:
        run_sweep()
        return 0
    if args.sweep_translations:
        run_translation_sweep()
        return 0
    run_scaling(args.db, [int(s) for s in args.sizes.split(",")], args.measure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
