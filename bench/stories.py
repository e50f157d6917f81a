"""Cost per article of story building and of retagging, as the archive grows.

    python bench/stories.py                         # SQLite, 10,000 then 100,000 articles
    python bench/stories.py --sizes 2000 20000      # a quicker run
    python bench/stories.py --db postgresql://postgres@127.0.0.1:5432/bench

The archive is seeded with synthetic articles (bulk inserts: rows, story members and the story
key index) at a constant ``--per-day`` rate, so a bigger archive covers more days, as a real
one does. Then ``--measure`` fresh articles on the latest days are put into stories one
transaction each through ``assign_story`` (event keys, index probes, scoring, the insert), and
the newest ``--retag`` articles are retagged through ``retag_batch`` (gazetteer and topic rules
on the stored text, rows replaced). Each size has its own archive and the measurements
alternate between them in rounds, so the load of a shared machine falls on every size alike;
an index whose probes do not depend on the archive's size keeps the costs flat.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select

from newsarchive.archive import open_archive
from newsarchive.archive.models import Article as ArticleRow
from newsarchive.archive.models import Story, StoryKey, StoryMember
from newsarchive.archive.search import SearchFilters
from newsarchive.archive.store import ensure_source
from newsarchive.archive.stories import assign_story
from newsarchive.archive.tagging import retag_batch
from newsarchive.extraction import similarity
from newsarchive.extraction.companies import load_gazetteer
from newsarchive.extraction.entities import load_places

logger = logging.getLogger(__name__)

START = datetime(2024, 1, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK = 2000
MEASURED_IDS = 50_000_000  # ids of the measured articles, apart from the seeded ones
_FILLER_TEXT = (
    "the carmaker said on Monday that it would expand output while analysts expected demand "
    "to recover later in the year and suppliers warned about costs of energy and materials"
)
FILLER = _FILLER_TEXT.split()
SURNAMES = [f"Name{i}" for i in range(3000)]


def synthetic(n: int) -> tuple[str, str, dict[str, float]]:
    """A title and body naming a few companies, places, people and figures, like a news story,
    and the event keys they carry (for seeding, without the cost of extracting them)."""
    rng = random.Random(n)
    gaz = load_gazetteer()
    companies = list(gaz.companies.values())
    places = load_places()
    names = [p for p in places.ids if p.isascii()]
    sentences = []
    keys: dict[str, float] = {}
    for _ in range(8):
        words = rng.sample(FILLER, 12)
        company = rng.choice(companies)
        words.insert(rng.randrange(12), company.name)
        keys["@" + company.id] = similarity.WEIGHTS["@"]
        if rng.random() < 0.6:
            place = rng.choice(names)
            words.insert(rng.randrange(12), "in " + place)
            pid = places.ids[place]
            keys["^" + pid] = (
                similarity.BROAD_WEIGHT if pid in places.broad else similarity.WEIGHTS["^"]
            )
        if rng.random() < 0.5:
            value = rng.randint(11, 99_999)
            words.insert(rng.randrange(12), f"{value:,}")
            keys[f"#{float(value):.3g}"] = similarity.WEIGHTS["#"]
        if rng.random() < 0.3:
            name = rng.choice(SURNAMES)
            words.insert(rng.randrange(12), "said " + name)
            keys["~" + name.casefold()] = similarity.WEIGHTS["~"]
        sentences.append(" ".join(words).capitalize() + ".")
    title = f"{rng.choice(companies).name} plans {rng.randint(11, 999)} million euro project"
    return title, "\n".join(" ".join(sentences[i : i + 2]) for i in range(0, 8, 2)), keys


def _seed(archive: Any, source_id: int, start: int, stop: int, per_day: int) -> None:
    """Bulk-insert articles ``start``..``stop`` with their story membership and key index."""
    for lo in range(start, stop, CHUNK):
        hi = min(stop, lo + CHUNK)
        rows, members, keys = [], [], []
        for n in range(lo, hi):
            title, body, event = synthetic(n)
            published = START + timedelta(days=n // per_day, minutes=n % per_day)
            rows.append(
                {
                    "id": n + 1,
                    "source_id": source_id,
                    "url": f"https://bench.example/{n}",
                    "canonical_url": f"https://bench.example/{n}",
                    "title": title,
                    "body": body,
                    "published": published,
                    "lang": "en",
                    "content_sha256": f"{n:064x}",
                    "first_seen": published,
                    "last_seen": published,
                    "companies": [],
                    "date_flags": [],
                    "authors": [],
                    "organisations": [],
                    "tags": [],
                }
            )
            day = (published - EPOCH).days
            members.append(
                {
                    "article_id": n + 1,
                    "story_id": n + 1,
                    "day": day,
                    "how": "seed",
                    "score": 0.0,
                    "keys": similarity.serialise_keys(event),
                }
            )
            hashes = {similarity.key_hash(k) for k in similarity.index_keys(event)}
            keys += [{"key": h, "day": day, "article_id": n + 1} for h in hashes]
        with archive.session() as session:
            session.execute(insert(ArticleRow), rows)
            session.execute(
                insert(Story),
                [
                    {"id": m["story_id"], "first_day": m["day"], "last_day": m["day"], "size": 1}
                    for m in members
                ],
            )
            session.execute(insert(StoryMember), members)
            session.execute(insert(StoryKey), keys)
        logger.info("seeded %d articles", hi)


def _measure_stories(archive: Any, source_id: int, size: int, count: int, per_day: int) -> float:
    """Median ms per ``assign_story`` for ``count`` fresh articles on the archive's last days."""
    times = []
    for i in range(count):
        n = 10_000_000 + size + i
        title, body, _ = synthetic(n)
        published = START + timedelta(days=(size - 1) // per_day, minutes=i)
        with archive.session() as session:
            article_id = session.scalar(
                insert(ArticleRow)
                .values(
                    id=MEASURED_IDS + i,
                    source_id=source_id,
                    url=f"https://bench.example/new/{n}",
                    canonical_url=f"https://bench.example/new/{n}",
                    title=title,
                    body=body,
                    published=published,
                    lang="en",
                    content_sha256=f"{n:064x}",
                    first_seen=published,
                    last_seen=published,
                    companies=[],
                    date_flags=[],
                    authors=[],
                    organisations=[],
                    tags=[],
                )
                .returning(ArticleRow.id)
            )
            assert article_id is not None
            started = time.perf_counter()
            assign_story(
                session,
                article_id,
                title=title,
                body=body,
                lang="en",
                day=(published - EPOCH).days,
            )
            times.append(time.perf_counter() - started)
    with archive.session() as session:  # the next seeding reuses these story ids
        measured = select(StoryMember.story_id).where(StoryMember.article_id >= MEASURED_IDS)
        session.execute(delete(Story).where(Story.id.in_(measured), Story.id > size))
        session.execute(delete(ArticleRow).where(ArticleRow.id >= MEASURED_IDS))
    return statistics.median(times) * 1000


def _measure_retag(archive: Any, count: int) -> float:
    """ms per article to retag the newest ``count`` articles (one transaction per 500)."""
    with archive.session() as session:
        last = session.scalar(select(ArticleRow.id).order_by(ArticleRow.id.desc()).limit(1)) or 0
    start: int | None = max(0, last - count)
    done = 0
    started = time.perf_counter()
    while start is not None and done < count:
        with archive.session() as session:
            start, result = retag_batch(
                session, SearchFilters(include_duplicates=True), start_id=start, batch=500
            )
        done += result.articles
    return (time.perf_counter() - started) * 1000 / max(done, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", nargs="*", help="one archive URL per size (default: SQLite files)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--per-day", type=int, default=250)
    parser.add_argument("--measure", type=int, default=100)
    parser.add_argument("--retag", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        archives = []
        for i, size in enumerate(args.sizes):
            url = args.db[i] if args.db else str(Path(tmp) / f"bench-{size}.db")
            archive = open_archive(url)
            with archive.session() as session:
                source_id = ensure_source(session, "bench")
            t0 = time.perf_counter()
            _seed(archive, source_id, 0, size, args.per_day)
            print(f"{size:>8} articles seeded in {time.perf_counter() - t0:.0f} s", flush=True)
            archives.append((size, archive, source_id))
        # rounds alternate between the archives, so load on the machine hits every size alike
        story: dict[int, list[float]] = {size: [] for size in args.sizes}
        tags: dict[int, list[float]] = {size: [] for size in args.sizes}
        for _ in range(args.rounds):
            for size, archive, source_id in archives:
                story[size].append(
                    _measure_stories(archive, source_id, size, args.measure, args.per_day)
                )
                tags[size].append(_measure_retag(archive, args.retag))
        for _, archive, _ in archives:
            archive.dispose()
    results = []
    for size in args.sizes:
        story_ms, retag_ms = statistics.median(story[size]), statistics.median(tags[size])
        results.append((size, story_ms, retag_ms))
        print(
            f"{size:>8} articles: story {story_ms:.2f} ms/article, retag {retag_ms:.2f} ms/article"
            f" (medians of {args.rounds} rounds of {args.measure} stories, {args.retag} retags)"
        )
    base = results[0]
    for size, story_ms, retag_ms in results[1:]:
        print(
            f"ratio {size}/{base[0]}: story {story_ms / base[1]:.2f}x, "
            f"retag {retag_ms / base[2]:.2f}x"
        )


if __name__ == "__main__":
    main()
