"""Cost of storing one article (with its near-duplicate lookup) as the archive grows.

    python bench/dedupe.py                      # SQLite file in a temporary directory
    python bench/dedupe.py --db postgresql://postgres@127.0.0.1:5432/bench
    python bench/dedupe.py --sweep              # precision/recall of the threshold on fixtures

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

from newsarchive import dedupe
from newsarchive.archive import open_archive
from newsarchive.archive.models import Article as ArticleRow
from newsarchive.archive.models import ArticleSignature, LshBand
from newsarchive.archive.store import ensure_source, save_page
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
    rng = random.Random(n)
    tokens = rng.choices(WORDS, cum_weights=CUM_WEIGHTS, k=words)
    return "\n".join(" ".join(tokens[i : i + 40]) + "." for i in range(0, words, 40))


def _seed_rows(n: int) -> tuple[dict[str, Any], bytes, tuple[tuple[int, int], ...]]:
    body = synthetic_body(n)
    fp = dedupe.fingerprint(body)
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
        "version": 1,
    }
    return row, fp.minhash, fp.bands


def seed(archive: Any, start: int, stop: int, pool: ProcessPoolExecutor) -> float:
    t0 = time.perf_counter()
    with archive.session() as session:
        source_id = ensure_source(session, "seed")
    for lo in range(start, stop, SEED_CHUNK):
        ids = range(lo, min(stop, lo + SEED_CHUNK))
        made = list(pool.map(_seed_rows, ids, chunksize=200))
        with archive.session() as session:
            rows = [{**row, "source_id": source_id} for row, _, _ in made]
            article_ids = session.scalars(insert(ArticleRow).returning(ArticleRow.id), rows).all()
            conn = session.connection()  # Core executemany: no ORM bookkeeping per row
            conn.execute(
                ArticleSignature.__table__.insert(),
                [
                    {"article_id": a, "minhash": m}
                    for a, (_, m, _) in zip(article_ids, made, strict=True)
                ],
            )
            conn.execute(
                LshBand.__table__.insert(),
                [
                    {"band": band, "key": key, "article_id": a}
                    for a, (_, _, bands) in zip(article_ids, made, strict=True)
                    for band, key in bands
                ],
            )
    return time.perf_counter() - t0


def fresh_page(n: int, stored: int) -> tuple[FetchedPage, dedupe.Fingerprint]:
    """A new distinct article, or every tenth a reworked copy of a stored one."""
    if n % 10 == 0:
        original = synthetic_body(n % stored).splitlines()
        body = "\n".join(["Republished from our partners: a new intro line.", *original[:-1]])
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
        article=Article(url=url, canonical_url=url, title=f"Fresh {n}", body=body),
    )
    return page, dedupe.fingerprint(body)


def measure(archive: Any, stored: int, count: int) -> dict[str, float]:
    pages = [fresh_page(n, stored) for n in range(count)]
    timings = []
    statuses: dict[str, int] = {}
    for page, fp in pages:
        t0 = time.perf_counter()
        with archive.session() as session:
            result = save_page(session, page, fp=fp)
        timings.append(time.perf_counter() - t0)
        statuses[result.status] = statuses.get(result.status, 0) + 1
    timings.sort()
    return {
        "mean_ms": 1000 * statistics.fmean(timings),
        "p50_ms": 1000 * timings[len(timings) // 2],
        "p95_ms": 1000 * timings[int(len(timings) * 0.95)],
        "duplicates": statuses.get("duplicate", 0),
        "new": statuses.get("new", 0),
    }


def run_scaling(db: str | None, sizes: list[int], count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        archive = open_archive(db or str(Path(tmp) / "bench.db"))
        print(f"backend: {archive.backend}; {count} saves per size; sizes {sizes}")
        t0 = time.perf_counter()
        fps = [dedupe.fingerprint(synthetic_body(n)) for n in range(300)]
        print(f"fingerprint: {1000 * (time.perf_counter() - t0) / len(fps):.2f} ms per article")
        results = []
        stored = 0
        with ProcessPoolExecutor(2) as pool:
            for size in sizes:
                seconds = seed(archive, stored, size, pool)
                with archive.session() as session:
                    stored = session.scalar(select(func.count()).select_from(ArticleRow)) or 0
                print(f"seeded to {stored} articles in {seconds:.0f} s")
                r = measure(archive, stored, count)
                stored += count
                results.append(r)
                print(
                    f"{size:>7} stored: save_page mean {r['mean_ms']:.2f} ms, "
                    f"p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms "
                    f"({r['duplicates']:.0f} near copies found of {count // 10} planted)"
                )
        archive.dispose()
    print(
        f"ratio mean {sizes[-1]}/{sizes[0]}: {results[-1]['mean_ms'] / results[0]['mean_ms']:.2f}"
    )


def _corpus_bodies() -> list[str]:
    bodies = []
    for path in sorted(CORPUS.glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8")).get("body")
        if body and len(body.split()) >= dedupe.MIN_NEAR_WORDS:
            bodies.append(body)
    return bodies


def run_sweep() -> None:
    """Pairwise precision/recall on the fixtures (plus real corpus articles as negatives)."""
    manifest = json.loads((FIXTURES / "manifest.json").read_text(encoding="utf-8"))
    docs = [(a["story"], (FIXTURES / a["file"]).read_text()) for a in manifest["articles"]]
    corpus = _corpus_bodies()
    docs += [(f"corpus-{hashlib.sha1(b.encode()).hexdigest()}", b) for b in corpus]
    fps = [dedupe.fingerprint(body) for _, body in docs]
    pairs = []
    for (i, (sa, _)), (j, (sb, _)) in itertools.combinations(enumerate(docs), 2):
        a, b = fps[i], fps[j]
        candidate = a.content_sha256 == b.content_sha256 or bool(set(a.bands) & set(b.bands))
        pairs.append((sa == sb, candidate, dedupe.similarity(a.minhash, b.minhash)))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated archive sizes")
    parser.add_argument("--measure", type=int, default=300, help="saves timed at each size")
    parser.add_argument("--sweep", action="store_true", help="threshold sweep on the fixtures")
    args = parser.parse_args(argv)
    if args.sweep:
        run_sweep()
        return 0
    run_scaling(args.db, [int(s) for s in args.sizes.split(",")], args.measure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
