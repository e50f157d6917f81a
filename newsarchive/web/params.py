"""The search state of a page, read from its URL and written back into links.

Every page's state is in its query string (``q``, ``source``, ``lang``, ``company``, ``since``,
``until``, ``copies``, ``sort``, ``page``, ``bucket``, ``by_source``), so a URL can be shared
and the back button works. Input is capped here, before the archive sees it: the query's length
and number of terms, and the page depth (deep pages cost a scan of every row before them).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

from newsarchive.archive.facets import BUCKETS
from newsarchive.archive.search import ORDERS, SearchFilters
from newsarchive.archive.searchquery import parse_query
from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from newsarchive.archive.searchquery import SearchQuery

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
MAX_PAGE = 50  # 1,000 results deep; narrow the query or export for more
MAX_QUERY_CHARS = 300
MAX_TERMS = 16
MAX_FILTER_CHARS = 200


@dataclass(frozen=True, slots=True)
class SearchParams:
    q: str = ""
    source: str = ""
    lang: str = ""
    company: str = ""
    topic: str = ""
    since: str = ""
    until: str = ""
    copies: bool = False
    sort: str = ""  # "" = relevance with a query, date without
    page: int = 1
    bucket: str = "auto"
    by_source: bool = False

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> SearchParams:
        """Read and check the URL's parameters; ConfigError (HTTP 400) says what is wrong."""
        q = " ".join(args.get("q", "").split())
        if len(q) > MAX_QUERY_CHARS:
            raise ConfigError(f"query too long: at most {MAX_QUERY_CHARS} characters")
        text = {}
        for name in ("source", "lang", "company", "topic", "since", "until"):
            value = args.get(name, "").strip()
            if len(value) > MAX_FILTER_CHARS:
                raise ConfigError(f"{name} too long: at most {MAX_FILTER_CHARS} characters")
            text[name] = value
        sort = args.get("sort", "")
        if sort and sort not in ORDERS:
            raise ConfigError(f"unknown sort {sort!r}: use {' or '.join(ORDERS)}")
        bucket = args.get("bucket", "auto") or "auto"
        if bucket != "auto" and bucket not in BUCKETS:
            raise ConfigError(f"unknown bucket {bucket!r}: use auto, {', '.join(BUCKETS)}")
        raw_page = args.get("page", "1") or "1"
        if not (raw_page.isascii() and raw_page.isdigit()) or not 1 <= int(raw_page) <= MAX_PAGE:
            raise ConfigError(
                f"page must be a number from 1 to {MAX_PAGE}: narrow the search or export it"
            )
        params = cls(
            q=q,
            source=text["source"],
            lang=text["lang"],
            company=text["company"],
            topic=text["topic"],
            since=text["since"],
            until=text["until"],
            copies=args.get("copies", "") not in ("", "0"),
            sort=sort,
            page=int(raw_page),
            bucket=bucket,
            by_source=args.get("by_source", "") not in ("", "0"),
        )
        params.filters()  # a bad date is a 400 now, not in the middle of a page
        params.parsed()
        return params

    @classmethod
    def unchecked(cls, args: Mapping[str, str]) -> SearchParams:
        """The text fields as typed (cut to the caps), to show a refused search in its form."""

        def cut(name: str) -> str:
            return args.get(name, "")[: 2 * MAX_QUERY_CHARS]

        return cls(
            q=cut("q"),
            source=cut("source"),
            lang=cut("lang"),
            company=cut("company"),
            topic=cut("topic"),
            since=cut("since"),
            until=cut("until"),
            copies=args.get("copies", "") not in ("", "0"),
        )

    def parsed(self) -> SearchQuery | None:
        """The parsed query (None without one); QuerySyntaxError for bad syntax."""
        if not self.q:
            return None
        query = parse_query(self.q)
        terms = len(query.positive_terms()) + len(query.excluded)
        if terms > MAX_TERMS:
            raise ConfigError(f"too many terms ({terms}): at most {MAX_TERMS}")
        return query

    def filters(self) -> SearchFilters:
        return SearchFilters.from_params(
            source=self.source,
            lang=self.lang,
            company=self.company,
            topic=self.topic,
            since=self.since,
            until=self.until,
            include_duplicates=self.copies,
        )

    @property
    def order(self) -> str:
        return self.sort or ("relevance" if self.q else "date")

    def with_(self, **changes: Any) -> SearchParams:
        """These parameters changed (each of a field's type); a new filter starts again at
        page 1."""
        if "page" not in changes:
            changes["page"] = 1
        return replace(self, **changes)

    def url(
        self, path: str = "/", *, extra: Mapping[str, str] | None = None, **changes: Any
    ) -> str:
        """``path`` with this state (and ``changes``, then ``extra`` parameters) as its query;
        defaults are left out, so equal states give equal URLs. The same state as
        ``with_(**changes)`` (a change starts again at page 1), without building it: a search
        page has ~150 links."""
        unknown = changes.keys() - _DEFAULTS.keys()
        if unknown:
            raise TypeError(f"unknown search parameters {sorted(unknown)}")
        if changes and "page" not in changes:
            changes["page"] = 1
        pairs = []
        for name, default in _DEFAULTS.items():
            value = changes[name] if name in changes else getattr(self, name)
            if value == default:
                continue
            pairs.append((name, "1" if value is True else str(value)))
        pairs += list((extra or {}).items())
        if not pairs:
            return path
        return path + "?" + "&".join(f"{_quoted(k)}={_quoted(v)}" for k, v in pairs)

    def chips(self) -> list[tuple[str, str]]:
        """Active filters as (label, URL without it), for removable chips."""
        chips = []
        for name, label in (
            ("source", "source"),
            ("lang", "language"),
            ("company", "company"),
            ("topic", "topic"),
            ("since", "from"),
            ("until", "to"),
        ):
            value = getattr(self, name)
            if value:
                chips.append((f"{label}: {value}", self.with_(**{name: ""}).url()))
        if self.copies:
            chips.append(("copies included", self.url(copies=False)))
        return chips


_DEFAULTS: dict[str, object] = {f.name: f.default for f in fields(SearchParams)}


@functools.lru_cache(maxsize=4096)
def _quoted(value: str) -> str:
    """``urlencode``'s quoting of one name or value; a page repeats the same few many times."""
    return quote_plus(value)


@functools.lru_cache(maxsize=1024)
def month_range(month: str) -> tuple[str, str]:
    """``YYYY-MM`` → (first day, last day) as the since/until a month facet sets."""
    first = date.fromisoformat(month + "-01")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first.isoformat(), (following - timedelta(days=1)).isoformat()
