"""The OpenAPI 3.1 description of the JSON API, served at ``/api/openapi.json``.

Written by hand next to the handlers (``api.py``); the tests validate every API answer against
these schemas, so the description cannot drift from what the server sends.
"""

from __future__ import annotations

import logging
from typing import Any

from newsarchive import __version__
from newsarchive.archive.facets import BUCKETS
from newsarchive.archive.linking import OriginRule
from newsarchive.archive.search import ORDERS
from newsarchive.web.params import MAX_PAGE, MAX_QUERY_CHARS

logger = logging.getLogger(__name__)


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def _obj(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
DATETIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}

SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": STR, "status": INT}),
    "SearchHit": _obj(
        {
            "id": INT,
            "url": STR,
            "canonical_url": STR,
            "source": STR,
            "title": _nullable("string"),
            "published": _nullable("string", format="date-time"),
            "lang": _nullable("string"),
            "snippet": {
                "type": "string",
                "description": "matched words marked [like this]",
            },
            "score": {"type": "number", "description": "relevance; 0 when sorted by date"},
            "duplicate_count": INT,
            "duplicate_of": _nullable("integer"),
        }
    ),
    "Filters": _obj(
        {
            "source": _nullable("string"),
            "since": _nullable("string", format="date-time"),
            "until": _nullable("string", format="date-time"),
            "lang": _nullable("string"),
            "company": _nullable("string"),
            "topic": _nullable("string"),
            "include_duplicates": BOOL,
        }
    ),
    "SearchResult": _obj(
        {
            "query": STR,
            "filters": _ref("Filters"),
            "sort": {"type": "string", "enum": list(ORDERS)},
            "page": INT,
            "page_size": INT,
            "total": {"type": "integer", "description": "matching articles (index count)"},
            "total_exact": {
                "type": "boolean",
                "description": "false: a large SQLite match counted with accents folded",
            },
            "has_next": BOOL,
            "hits": _array(_ref("SearchHit")),
        }
    ),
    "FacetValue": _obj({"value": STR, "count": INT}),
    "Facets": _obj(
        {
            "total": INT,
            "exact": BOOL,
            "sources": _array(_ref("FacetValue")),
            "languages": _array(_ref("FacetValue")),
            "companies": _array(_ref("FacetValue")),
            "months": _array(_ref("FacetValue")),
            "topics": _array(_ref("FacetValue")),
        }
    ),
    "TimelineBucket": _obj(
        {
            "start": DATE,
            "end": {**DATE, "description": "exclusive"},
            "count": INT,
            "by_source": {"type": "object", "additionalProperties": INT},
        }
    ),
    "Timeline": _obj(
        {
            "bucket": {"type": "string", "enum": list(BUCKETS)},
            "total": INT,
            "sources": _array(STR),
            "buckets": _array(_ref("TimelineBucket")),
        }
    ),
    "Capture": _obj(
        {
            "id": INT,
            "fetched_at": DATETIME,
            "status": INT,
            "url": STR,
            "final_url": STR,
            "extraction_status": STR,
        }
    ),
    "Copy": _obj(
        {
            "id": INT,
            "url": STR,
            "source": STR,
            "kind": {"type": "string", "enum": ["url", "exact", "near", "translation"]},
            "score": NUM,
            "lang": _nullable("string"),
            # which rule made the original the original (None for links stored before it)
            "rule": {"enum": [*(r.value for r in OriginRule), None]},
        }
    ),
    "Version": _obj(
        {
            "version": INT,
            "title": _nullable("string"),
            "content_sha256": STR,
            "captured_at": DATETIME,
            "current": BOOL,
        }
    ),
    "Article": _obj(
        {
            "id": INT,
            "url": STR,
            "canonical_url": STR,
            "source": STR,
            "title": _nullable("string"),
            "body": STR,
            "published": _nullable("string", format="date-time"),
            "published_offset": _nullable("integer", description="minutes east of UTC"),
            "published_local": _nullable(
                "string", format="date-time", description="published, in the publisher's offset"
            ),
            "modified": _nullable("string", format="date-time"),
            "date_source": _nullable("string"),
            "date_flags": _array(STR),
            "authors": _array(STR),
            "organisations": _array(STR),
            "companies": _array(STR),
            "lang": _nullable("string"),
            "description": _nullable("string"),
            "image": _nullable("string"),
            "section": _nullable("string"),
            "tags": _array(STR),
            "word_count": INT,
            "content_sha256": STR,
            "version": INT,
            "first_seen": DATETIME,
            "last_seen": DATETIME,
            "previous_versions": INT,
            "captures": _array(_ref("Capture")),
            "original": {"oneOf": [_ref("Copy"), {"type": "null"}]},
            "copies": _array(_ref("Copy")),
            "topics": _array(_obj({"topic": STR, "score": INT, "terms": _array(STR)})),
            "story_id": _nullable("integer"),
            "story_mates": _array(
                _obj(
                    {
                        "id": INT,
                        "source": STR,
                        "lang": _nullable("string"),
                        "title": _nullable("string"),
                        "how": {"type": "string", "enum": ["seed", "copy", "event"]},
                    }
                )
            ),
            "versions": _array(_ref("Version")),
            "diffs": _array({"type": "string", "description": "unified diff"}),
        }
    ),
    "Company": _obj(
        {
            "name": STR,
            "articles": INT,
            "sources": _array(_ref("FacetValue")),
            "languages": _array(_ref("FacetValue")),
            "co_mentions": _array(_ref("FacetValue")),
            "timeline": _ref("Timeline"),
            "latest": _array(_ref("SearchHit")),
            "group": _nullable("string", description="the group above it in the gazetteer"),
            "members": _array({"type": "string", "description": "companies below it"}),
        }
    ),
}


def _param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


FILTER_PARAMS = [
    _param("source", STR, "only this source"),
    _param("lang", STR, "language code; 'en' also matches 'en-GB'"),
    _param("company", STR, "articles naming this company (a group includes its brands)"),
    _param("topic", STR, "articles tagged with this topic id"),
    _param("since", STR, "published on/after (YYYY-MM-DD or ISO 8601)"),
    _param("until", STR, "published before; a bare date includes that day"),
    _param("copies", {"type": "string", "enum": ["0", "1"]}, "1: include syndicated copies"),
]
QUERY_PARAM = _param(
    "q",
    {"type": "string", "maxLength": MAX_QUERY_CHARS},
    'search query: words, "phrases", OR, -word, prefix*; empty: every article',
)
TIMELINE_PARAMS = [
    _param("bucket", {"type": "string", "enum": ["auto", *BUCKETS]}, "bar width"),
    _param("by_source", {"type": "string", "enum": ["0", "1"]}, "1: per-source counts"),
]


def _responses(schema: str, *errors: int) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": _ref(schema)}}}
    }
    reasons = {400: "bad input", 404: "not found", 500: "archive failure", 503: "too slow"}
    for code in (*errors, 500, 503):
        answers[str(code)] = {
            "description": reasons[code],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    return answers


def _get(summary: str, params: list[dict[str, Any]], schema: str, *errors: int) -> dict[str, Any]:
    return {
        "get": {"summary": summary, "parameters": params, "responses": _responses(schema, *errors)}
    }


def _path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def describe_api(server_url: str) -> dict[str, Any]:
    """The description, with this server's URL."""
    page = _param("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "result page")
    sort = _param("sort", {"type": "string", "enum": list(ORDERS)}, "default: relevance")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "newsarchive",
            "version": __version__,
            "description": "Read-only JSON API over a newsarchive archive of automotive news.",
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/api/search": _get(
                "Ranked full-text search, one page",
                [QUERY_PARAM, *FILTER_PARAMS, sort, page],
                "SearchResult",
                400,
            ),
            "/api/facets": _get(
                "Counts by source, language, company and month",
                [QUERY_PARAM, *FILTER_PARAMS],
                "Facets",
                400,
            ),
            "/api/timeline": _get(
                "Articles per day, week or month",
                [QUERY_PARAM, *FILTER_PARAMS, *TIMELINE_PARAMS],
                "Timeline",
                400,
            ),
            "/api/articles/{article_id}": _get(
                "One article with copies, captures and versions",
                [_path_param("article_id", {"type": "integer"})],
                "Article",
                404,
            ),
            "/api/companies/{name}": _get(
                "Coverage of one company",
                [_path_param("name", STR), *FILTER_PARAMS, *TIMELINE_PARAMS],
                "Company",
                400,
                404,
            ),
        },
        "components": {"schemas": SCHEMAS},
    }
