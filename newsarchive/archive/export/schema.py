"""The export schema: every article field a dataset can carry, named, typed and explained once.

One :class:`Field` entry per field is all an export needs: the SQL it is read from, its type in
JSON/CSV and in Parquet, and the sentence README and the manifest show. Adding a field to the
archive's exports is adding one entry to ``SCHEMA``. ``SCHEMA_VERSION`` goes up whenever a
field's name, type or meaning changes (adding a field or changing a default is a change too), so
a dataset's manifest says which schema its files follow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from newsarchive.archive.models import Article, Duplicate, Source
from newsarchive.archive.stories import story_id_column, story_size_column
from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 4

# Copies per original, grouped once per export statement and joined by id (``RowStream`` joins it
# when ``duplicate_count`` is exported). The search layer's correlated count probes the index
# once per row, which on a full export of a million rows costs more than reading the rows.
COPY_COUNTS = (
    select(Duplicate.original_id, func.count().label("copies"))
    .group_by(Duplicate.original_id)
    .subquery("copy_counts")
)


class Kind(StrEnum):
    """Value types; each writer maps them to its own (JSON, CSV cell, Arrow type)."""

    INTEGER = "integer"
    FLOAT = "float"
    STRING = "string"
    TIMESTAMP = "timestamp"
    LIST = "list of string"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    nullable: bool
    meaning: str
    column: Callable[[], Any]
    default: bool = False

    @property
    def type_label(self) -> str:
        """How README and the manifest spell the type (``string or null``…)."""
        label = "ISO 8601 date-time" if self.kind is Kind.TIMESTAMP else self.kind.value
        return f"{label} or null" if self.nullable else label

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.kind.value,
            "nullable": self.nullable,
            "meaning": self.meaning,
        }


def _f(
    name: str, kind: Kind, nullable: bool, meaning: str, column: Callable[[], Any], *, default: bool
) -> Field:
    return Field(name, kind, nullable, meaning, column, default)


I, FL, S, T, L = Kind.INTEGER, Kind.FLOAT, Kind.STRING, Kind.TIMESTAMP, Kind.LIST
SCHEMA: tuple[Field, ...] = (
    _f("id", I, False, "article id in the archive", lambda: Article.id, default=True),
    _f("url", S, False, "URL the article was fetched from", lambda: Article.url, default=True),
    _f(
        "canonical_url",
        S,
        False,
        "the page's canonical URL (own domain only), normalised",
        lambda: Article.canonical_url,
        default=True,
    ),
    _f("source", S, False, "source name", lambda: Source.name, default=True),
    _f(
        "title",
        S,
        True,
        "headline without the site-name suffix",
        lambda: Article.title,
        default=True,
    ),
    _f(
        "body",
        S,
        False,
        "article text, paragraphs separated by `\\n`",
        lambda: Article.body,
        default=True,
    ),
    _f(
        "published",
        T,
        True,
        "publication time, in the offset the publisher gave (`Z`: the page gave none); "
        "Parquet: UTC, with `published_offset` beside it",
        lambda: Article.published,
        default=True,
    ),
    _f(
        "published_offset",
        I,
        True,
        "the publisher's UTC offset of `published`, minutes east of UTC",
        lambda: Article.published_offset,
        default=False,
    ),
    _f(
        "date_source",
        S,
        True,
        "where `published` came from: `jsonld`, `meta`, `microdata`, `byline` (the visible dateline), `htmldate`, `url`",
        lambda: Article.date_source,
        default=False,
    ),
    _f(
        "date_flags",
        L,
        False,
        "dates found on the page and refused (`future`, `before_1990`)",
        lambda: Article.date_flags,
        default=False,
    ),
    _f(
        "modified",
        T,
        True,
        "last-modified time the page declares, UTC",
        lambda: Article.modified,
        default=False,
    ),
    _f(
        "authors",
        L,
        False,
        "person authors (agencies and desks are in `organisations`)",
        lambda: Article.authors,
        default=True,
    ),
    _f(
        "organisations",
        L,
        False,
        "agencies and desks credited as authors",
        lambda: Article.organisations,
        default=False,
    ),
    _f("lang", S, True, "ISO 639-1 language", lambda: Article.lang, default=True),
    _f(
        "companies",
        L,
        False,
        "automotive companies named in the text (bundled gazetteer)",
        lambda: Article.companies,
        default=False,
    ),
    _f(
        "section",
        S,
        True,
        "the site's section for the article",
        lambda: Article.section,
        default=False,
    ),
    _f("tags", L, False, "the page's keywords and tags", lambda: Article.tags, default=False),
    _f(
        "description",
        S,
        True,
        "the page's summary (JSON-LD or meta description)",
        lambda: Article.description,
        default=False,
    ),
    _f("image", S, True, "URL of the lead image", lambda: Article.image, default=False),
    _f(
        "word_count",
        I,
        False,
        "words in `body` (whitespace-separated)",
        lambda: Article.word_count,
        default=False,
    ),
    _f(
        "fetched_at",
        T,
        False,
        "last time the archive fetched it, UTC",
        lambda: Article.last_seen,
        default=True,
    ),
    _f(
        "first_seen",
        T,
        False,
        "first time the archive fetched it, UTC",
        lambda: Article.first_seen,
        default=False,
    ),
    _f(
        "last_seen",
        T,
        False,
        "last time the archive fetched it, UTC (same as `fetched_at`)",
        lambda: Article.last_seen,
        default=False,
    ),
    _f(
        "version",
        I,
        False,
        "revision number: 1, plus one per content change seen on a refetch or re-extraction",
        lambda: Article.version,
        default=False,
    ),
    _f(
        "content_sha256",
        S,
        False,
        "SHA-256 of the normalised body text",
        lambda: Article.content_sha256,
        default=True,
    ),
    _f(
        "duplicate_count",
        I,
        False,
        "number of copies linked to this article",
        lambda: func.coalesce(COPY_COUNTS.c.copies, 0),
        default=True,
    ),
    _f(
        "duplicate_of",
        I,
        True,
        "the original's id, for a copy (rows appear only with `--include-duplicates`)",
        lambda: Duplicate.original_id,
        default=True,
    ),
    _f(
        "duplicate_kind",
        S,
        True,
        "how a copy matched its original: `url`, `exact`, `near` or `translation`",
        lambda: Duplicate.kind,
        default=False,
    ),
    _f(
        "duplicate_score",
        FL,
        True,
        "similarity of a copy to its original (1.0 for `url` and `exact`)",
        lambda: Duplicate.score,
        default=False,
    ),
)
SCHEMA += (
    _f(
        "story_id",
        I,
        True,
        "the story (one event across outlets and languages) the article belongs to",
        lambda: story_id_column(),
        default=False,
    ),
    _f(
        "story_size",
        I,
        True,
        "number of articles in that story (copies and independent reports)",
        lambda: story_size_column(),
        default=False,
    ),
)


class _TopicList(FunctionElement[str]):
    """An article's topic ids, sorted, as JSON array text (one correlated aggregate)."""

    type = Text()
    inherit_cache = True
    name = "topic_list"


@compiles(_TopicList, "sqlite")
def _topics_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return (
        "(SELECT json_group_array(topic) FROM (SELECT topic FROM article_topics "
        "WHERE article_topics.article_id = articles.id ORDER BY topic))"
    )


@compiles(_TopicList, "postgresql")
def _topics_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return (
        "(SELECT coalesce(json_agg(topic ORDER BY topic), '[]')::text FROM article_topics "
        "WHERE article_topics.article_id = articles.id)"
    )


SCHEMA += (
    _f(
        "topics",
        L,
        False,
        "topic ids the topic rules give the article (see `newsarchive topics`), sorted",
        lambda: _TopicList(),
        default=False,
    ),
)
BY_NAME = {f.name: f for f in SCHEMA}
DEFAULT_FIELDS: tuple[Field, ...] = tuple(f for f in SCHEMA if f.default)


def select_fields(names: Sequence[str] | None) -> tuple[Field, ...]:
    """The fields ``--fields`` names, in the order given; None means the default set.

    ``all`` stands for every field in schema order. Unknown and repeated names are errors, so a
    typo never silently drops a column.
    """
    if names is None:
        return DEFAULT_FIELDS
    picked: list[Field] = []
    for raw in names:
        name = raw.strip()
        if name == "all":
            picked += [f for f in SCHEMA if f not in picked]
            continue
        field = BY_NAME.get(name)
        if field is None:
            raise ConfigError(f"unknown field {name!r}: use any of {', '.join(BY_NAME)} (or 'all')")
        if field in picked:
            raise ConfigError(f"field {name!r} given twice")
        picked.append(field)
    if not picked:
        raise ConfigError("no fields given")
    return tuple(picked)


def parse_field_list(text: str | None) -> tuple[Field, ...]:
    """``--fields a,b,c`` → fields (empty items are ignored: ``a,b,`` is ``a,b``)."""
    if text is None:
        return DEFAULT_FIELDS
    return select_fields([part for part in text.split(",") if part.strip()])


def describe_schema(fields: Sequence[Field]) -> dict[str, Any]:
    """The manifest's ``schema``: its version and each exported field's name, type and meaning."""
    return {"version": SCHEMA_VERSION, "fields": [f.describe() for f in fields]}
