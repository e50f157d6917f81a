"""Stories: the articles about one event, across outlets and languages, kept as persisted
clusters and built incrementally.

A new article joins a story or starts one, at save time, with no recomputation of anything
else:

- a copy (``duplicates``: url, exact, near or translation) joins its original's story
  (``how = "copy"``): copies are the strict relation, the story the loose one; stories its event
  keys match (below) are merged into that one;
- otherwise its event keys (``extraction/similarity.py``: companies, places, figures, model
  codes, names) are looked up in ``story_keys`` within ``STORY_WINDOW_DAYS`` of its day, one
  index range per key; the best ``MAX_STORY_CANDIDATES`` articles sharing keys are scored, and
  the article joins the story of the best one scoring at least ``STORY_THRESHOLD``
  (``how = "event"``). When candidates from several stories pass, those stories are merged
  (one UPDATE of their members): the article showed they were one event;
- failing both it starts a story (``how = "seed"``).

The cost per article is a bounded number of index probes and scores, independent of the
archive's size (``bench/stories.py``). ``build_stories`` assigns stored articles that have no
story yet (after ``db upgrade``), in date order, by the same rule.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, select, update

from newsarchive.archive.db import dialect_insert
from newsarchive.archive.models import (
    Article,
    ArticleCompany,
    Duplicate,
    Source,
    Story,
    StoryKey,
    StoryMember,
)
from newsarchive.extraction import similarity

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import BindParameter, Select
    from sqlalchemy.orm import Session

    from newsarchive.archive.db import Archive

logger = logging.getLogger(__name__)

MAX_STORY_CANDIDATES = 50
MAX_INDEX_KEYS = 60  # keys probed per article (the heaviest first)
BUILD_BATCH = 500


@dataclass(slots=True, frozen=True)
class StoryAssignment:
    story_id: int
    how: str  # seed, copy or event
    score: float
    merged: tuple[int, ...] = ()  # stories merged into story_id


def _story_of(session: Session, article_id: int) -> int | None:
    return session.scalar(_STORY_OF, {"article_id": article_id})


# Statements of every new article's assignment, built once and bound per article: building
# them per article (and their cache keys) cost more CPU in the archive writer than running them.
_STORY_OF = select(StoryMember.story_id).where(StoryMember.article_id == bindparam("article_id"))
_MEMBERS_OF = select(StoryMember.article_id, StoryMember.story_id, StoryMember.keys).where(
    StoryMember.article_id.in_(bindparam("ids", expanding=True))
)


@functools.cache
def _grow_story(dialect: str) -> Any:
    """``UPDATE stories`` for one more member on ``day`` (SQLite spells least/greatest as
    two-argument min/max)."""
    least, greatest = (func.min, func.max) if dialect == "sqlite" else (func.least, func.greatest)
    day: BindParameter[int] = bindparam("day")
    return (
        update(Story)
        .where(Story.id == bindparam("story_id"))
        .values(
            size=Story.size + 1,
            first_day=least(Story.first_day, day),
            last_day=greatest(Story.last_day, day),
        )
    )


@functools.cache
def _candidate_query(n_keys: int) -> Select[int, int]:
    shared = func.count().label("shared")
    return (
        select(StoryKey.article_id, shared)
        .where(
            StoryKey.key.in_([bindparam(f"k{i}") for i in range(n_keys)]),
            StoryKey.day.between(bindparam("lo"), bindparam("hi")),
        )
        .group_by(StoryKey.article_id)
        .order_by(shared.desc(), StoryKey.article_id)
        .limit(MAX_STORY_CANDIDATES)
    )


def _probe_keys(keys: dict[str, float]) -> list[str]:
    probe = similarity.index_keys(keys)
    probe.sort(key=lambda k: (-keys[k], k))
    return probe[:MAX_INDEX_KEYS]


def _best_stories(
    session: Session, keys: dict[str, float], day: int
) -> list[tuple[float, int, int]]:
    """(score, story id, candidate id) of the best-scoring member of each story that passes."""
    probe = _probe_keys(keys)
    if not probe:
        return []
    params: dict[str, int] = {f"k{i}": similarity.key_hash(k) for i, k in enumerate(probe)}
    params["lo"] = day - similarity.STORY_WINDOW_DAYS
    params["hi"] = day + similarity.STORY_WINDOW_DAYS
    candidates = [row[0] for row in session.execute(_candidate_query(len(probe)), params)]
    if not candidates:
        return []
    best: dict[int, tuple[float, int]] = {}
    for cand_id, story_id, cand_keys in session.execute(_MEMBERS_OF, {"ids": candidates}):
        score = similarity.event_similarity(keys, similarity.parse_keys(cand_keys))
        if score >= similarity.STORY_THRESHOLD and (
            story_id not in best or (score, -cand_id) > (best[story_id][0], -best[story_id][1])
        ):
            best[story_id] = (score, cand_id)
    return sorted(((s, sid, c) for sid, (s, c) in best.items()), key=lambda r: (-r[0], r[1]))


def assign_story(
    session: Session,
    article_id: int,
    *,
    title: str | None,
    body: str,
    lang: str | None,
    day: int,
    copy_of: int | None = None,
    keys: dict[str, float] | None = None,
) -> StoryAssignment:
    """Put a newly stored article into a story (rules in the module docstring). ``keys`` are
    the article's event keys when the extraction worker computed them already."""
    if keys is None:
        keys = similarity.event_keys(title, body, lang)
    story_id = _story_of(session, copy_of) if copy_of is not None else None
    ranked = _best_stories(session, keys, day)
    merged: tuple[int, ...] = ()
    if story_id is not None:
        how, score = "copy", 1.0
    elif ranked:
        score, story_id, _ = ranked[0]
        how = "event"
    if story_id is not None:
        # the article is about the event of every story it matches: they are one story
        merged = tuple(dict.fromkeys(sid for _, sid, _ in ranked if sid != story_id))
        if merged:
            _merge(session, story_id, merged)
    else:
        how, score = "seed", 0.0
        story_id = session.scalar(
            dialect_insert(session, Story)
            .values(first_day=day, last_day=day, size=0)
            .returning(Story.id)
        )
        assert story_id is not None
    session.add(
        StoryMember(
            article_id=article_id,
            story_id=story_id,
            day=day,
            how=how,
            score=score,
            keys=similarity.serialise_keys(keys),
        )
    )
    _index(session, article_id, keys, day)
    session.execute(
        _grow_story(session.get_bind().dialect.name), {"story_id": story_id, "day": day}
    )
    session.flush()
    logger.debug("article %d -> story %d (%s %.2f)", article_id, story_id, how, score)
    return StoryAssignment(story_id, how, score, merged)


def _index(session: Session, article_id: int, keys: dict[str, float], day: int) -> None:
    rows = [
        {"key": similarity.key_hash(k), "day": day, "article_id": article_id}
        for k in dict.fromkeys(similarity.index_keys(keys))
    ]
    unique = list({r["key"]: r for r in rows}.values())
    if unique:
        session.execute(dialect_insert(session, StoryKey).on_conflict_do_nothing(), unique)


def _merge(session: Session, target: int, others: tuple[int, ...]) -> None:
    """Move the members of ``others`` into ``target`` and drop the emptied stories."""
    moved = session.execute(
        select(func.count(), func.min(StoryMember.day), func.max(StoryMember.day)).where(
            StoryMember.story_id.in_(others)
        )
    ).one()
    session.execute(
        update(StoryMember).where(StoryMember.story_id.in_(others)).values(story_id=target)
    )
    story = session.get(Story, target, populate_existing=True)
    assert story is not None
    story.size += int(moved[0] or 0)
    if moved[1] is not None:
        story.first_day = min(story.first_day, int(moved[1]))
        story.last_day = max(story.last_day, int(moved[2]))
    session.execute(delete(Story).where(Story.id.in_(others)))
    logger.info("stories %s merged into %d", ", ".join(map(str, others)), target)


def refresh_story_keys(
    session: Session, article_id: int, *, title: str | None, body: str, lang: str | None
) -> None:
    """New keys for an article whose text changed; its story stays what it was."""
    member = session.get(StoryMember, article_id)
    if member is None:
        return
    keys = similarity.event_keys(title, body, lang)
    member.keys = similarity.serialise_keys(keys)
    session.execute(delete(StoryKey).where(StoryKey.article_id == article_id))
    _index(session, article_id, keys, member.day)


def story_mates(
    session: Session, article_id: int
) -> tuple[int | None, list[tuple[int, str, str | None, str | None, str]]]:
    """The article's story id and the other members (id, source, lang, title, how)."""
    story_id = _story_of(session, article_id)
    if story_id is None:
        return None, []
    rows = session.execute(
        select(Article.id, Source.name, Article.lang, Article.title, StoryMember.how)
        .join(StoryMember, StoryMember.article_id == Article.id)
        .join(Source, Source.id == Article.source_id)
        .where(StoryMember.story_id == story_id, Article.id != article_id)
        .order_by(Article.id)
    ).all()
    # Row is a tuple subclass whose typed form mypy cannot unpack into the declared tuple type
    return story_id, [tuple(r) for r in rows]  # type: ignore[misc]


@dataclass(slots=True)
class StoryView:
    id: int
    size: int
    first_day: str
    last_day: str
    title: str | None  # the headline of the earliest published member
    first_article: int
    sources: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    copies: int = 0


def _iso_day(day: int) -> str:
    from datetime import date, timedelta

    return (date(1970, 1, 1) + timedelta(days=day)).isoformat()


def _day_of(moment: datetime) -> int:
    from datetime import UTC, datetime

    return (moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)).days


def list_stories(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    company_names: list[str] | None = None,
    min_size: int = 2,
    limit: int = 20,
) -> list[StoryView]:
    """Stories, largest first (then latest): outlets, languages, how many members are copies."""
    stmt = select(Story).where(Story.size >= min_size)
    if since is not None:
        stmt = stmt.where(Story.last_day >= _day_of(since))
    if until is not None:
        stmt = stmt.where(Story.first_day < _day_of(until) + (1 if until.hour else 0))
    if company_names:
        lowered = [n.lower() for n in company_names]
        stmt = stmt.where(
            Story.id.in_(
                select(StoryMember.story_id)
                .join(ArticleCompany, ArticleCompany.article_id == StoryMember.article_id)
                .where(func.lower(ArticleCompany.company).in_(lowered))
            )
        )
    stories = session.scalars(
        stmt.order_by(Story.size.desc(), Story.last_day.desc(), Story.id).limit(limit)
    ).all()
    views = []
    for story in stories:
        members = session.execute(
            select(Article.id, Article.title, Article.lang, Source.name, StoryMember.how)
            .join(StoryMember, StoryMember.article_id == Article.id)
            .join(Source, Source.id == Article.source_id)
            .where(StoryMember.story_id == story.id)
            .order_by(func.coalesce(Article.published, Article.first_seen), Article.id)
        ).all()
        views.append(
            StoryView(
                id=story.id,
                size=story.size,
                first_day=_iso_day(story.first_day),
                last_day=_iso_day(story.last_day),
                title=members[0].title if members else None,
                first_article=members[0].id if members else 0,
                sources=sorted({m.name for m in members}),
                languages=sorted({m.lang or "-" for m in members}),
                copies=sum(1 for m in members if m.how == "copy"),
            )
        )
    return views


def story_id_column() -> Any:
    """The story of ``articles.id`` as a correlated scalar subquery (export, search layers)."""
    return (
        select(StoryMember.story_id)
        .where(StoryMember.article_id == Article.id)
        .correlate(Article)
        .scalar_subquery()
    )


def story_size_column() -> Any:
    """The size of the story of ``articles.id`` (null for an article without a story)."""
    return (
        select(Story.size)
        .join(StoryMember, StoryMember.story_id == Story.id)
        .where(StoryMember.article_id == Article.id)
        .correlate(Article)
        .scalar_subquery()
    )


def build_stories(archive: Archive, *, batch: int = BUILD_BATCH) -> int:
    """Assign every stored article without a story, oldest first; returns how many."""
    from newsarchive.archive.linking import effective_day

    done = 0
    while True:
        with archive.session() as session:
            rows = session.execute(
                select(
                    Article.id,
                    Article.title,
                    Article.body,
                    Article.lang,
                    Article.published,
                    Article.first_seen,
                    Duplicate.original_id,
                )
                .outerjoin(Duplicate, Duplicate.article_id == Article.id)
                .where(~Article.id.in_(select(StoryMember.article_id)))
                .order_by(func.coalesce(Article.published, Article.first_seen), Article.id)
                .limit(batch)
            ).all()
            if not rows:
                return done
            for row in rows:
                copy_of = row.original_id
                if copy_of is not None and _story_of(session, copy_of) is None:
                    copy_of = None  # the original comes later in date order: scored instead
                assign_story(
                    session,
                    row.id,
                    title=row.title,
                    body=row.body,
                    lang=row.lang,
                    day=effective_day(row.published, row.first_seen),
                    copy_of=copy_of,
                )
            done += len(rows)
