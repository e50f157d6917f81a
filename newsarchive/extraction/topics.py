"""Tag articles with topics by explainable, multilingual term rules (data/topics.toml).

A rule is a list of terms in several languages; an article gets the topic when the terms (and,
for some topics, the kinds of company it names) add up to the rule's ``min_score``. Every tag
keeps the terms that matched, so a user can see why an article was tagged. Pure and cheap: the
terms of all topics are indexed by their first word, so one pass over an article's words finds
every match (one regex per topic, case-insensitive over Unicode, cost ~15 ms per article).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from newsarchive.errors import ConfigError
from newsarchive.extraction.companies import KINDS, data_entries, load_gazetteer
from newsarchive.items import TopicTag

if TYPE_CHECKING:
    from collections.abc import Iterable

logger = logging.getLogger(__name__)

DEFAULT_MIN_SCORE = 2
TITLE_WEIGHT = 2
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_WORD = r"0-9A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u052f"
# Hyphens split words, so "VW-Rückruf" holds the term "Rückruf" and "self-driving" is two words.
_TOKEN = re.compile(rf"[{_WORD}]+(?:['’][{_WORD}]+)*")

# A term as words: each word is (folded text, is a prefix).
_Words = tuple[tuple[str, bool], ...]
_Entry = tuple[int, str, _Words]  # (topic index, term as written, words after the first)


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    name: str
    terms: tuple[str, ...]
    min_score: int
    company_kinds: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TopicIndex:
    """All topics' terms, indexed by first word (Latin scripts) or in one regex (CJK)."""

    topics: tuple[Topic, ...]
    exact: dict[str, list[_Entry]]
    prefix: dict[str, list[_Entry]]
    prefix_lengths: tuple[int, ...]
    unspaced: re.Pattern[str] | None
    unspaced_terms: dict[str, list[tuple[int, str]]]
    cased: dict[str, list[_Entry]]  # acronyms, matched in capitals
    cased_terms: frozenset[tuple[int, str]]
    # token as written -> the entries it can start, longest first (see _starting)
    starting: dict[str, tuple[_Entry, ...]] = field(default_factory=dict, compare=False)


def _cased(term: str) -> bool:
    """Acronyms ("AI", "EV", "OTA") match in capitals only: "ai" is Italian for "to the"."""
    core = term.rstrip("*")
    return any(c.isalpha() for c in core) and core == core.upper() and not _UNSPACED.search(core)


def _words_of(term: str) -> _Words:
    fold = (lambda w: w) if _cased(term) else str.casefold
    return tuple((fold(w.rstrip("*")), w.endswith("*")) for w in re.split(r"[\s-]+", term) if w)


def _topic(entry: object, where: str) -> Topic:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: not a table")
    unknown = set(entry) - {"id", "name", "terms", "min_score", "companies"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    topic_id, name = entry.get("id"), entry.get("name")
    if not isinstance(topic_id, str) or not re.fullmatch(r"[a-z][a-z0-9-]*", topic_id):
        raise ConfigError(f"{where}: 'id' must be a lower-case identifier")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: 'name' must be a non-empty string")
    terms = entry.get("terms")
    if not isinstance(terms, list) or not terms or not all(isinstance(t, str) for t in terms):
        raise ConfigError(f"{where}: 'terms' must be a non-empty list of strings")
    min_score = entry.get("min_score", DEFAULT_MIN_SCORE)
    if not isinstance(min_score, int) or min_score < 1:
        raise ConfigError(f"{where}: 'min_score' must be a positive integer")
    kinds = entry.get("companies", [])
    if not isinstance(kinds, list) or not set(kinds) <= set(KINDS):
        raise ConfigError(f"{where}: 'companies' must list company kinds ({', '.join(KINDS)})")
    folded: dict[str, str] = {}  # terms differing only in case are one term
    for term in terms:
        folded.setdefault(term.strip().casefold(), term.strip())
    unique = tuple(t for t in folded.values() if t)
    return Topic(topic_id, name, unique, min_score, tuple(kinds))


def build_index(topics: tuple[Topic, ...]) -> TopicIndex:
    exact: dict[str, list[_Entry]] = {}
    prefix: dict[str, list[_Entry]] = {}
    unspaced_terms: dict[str, list[tuple[int, str]]] = {}
    cased: dict[str, list[_Entry]] = {}
    cased_terms: set[tuple[int, str]] = set()
    for index, topic in enumerate(topics):
        for term in topic.terms:
            if _UNSPACED.search(term):
                unspaced_terms.setdefault(term.rstrip("*"), []).append((index, term))
                continue
            words = _words_of(term)
            (first, is_prefix), rest = words[0], words[1:]
            if _cased(term):
                cased_terms.add((index, term))
                if not is_prefix:
                    cased.setdefault(first, []).append((index, term, rest))
                    continue
            (prefix if is_prefix else exact).setdefault(first, []).append((index, term, rest))
    alternation = "|".join(re.escape(t) for t in sorted(unspaced_terms, key=len, reverse=True))
    return TopicIndex(
        topics=topics,
        exact=exact,
        prefix=prefix,
        prefix_lengths=tuple(sorted({len(p) for p in prefix})),
        unspaced=re.compile(alternation) if alternation else None,
        unspaced_terms=unspaced_terms,
        cased=cased,
        cased_terms=frozenset(cased_terms),
    )


def parse_topics(text: str, origin: str) -> TopicIndex:
    _, entries = data_entries(text, origin, "topic")
    topics = tuple(_topic(e, f"{origin}: topic #{i}") for i, e in enumerate(entries, start=1))
    ids = [t.id for t in topics]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{origin}: topic ids must be unique")
    return build_index(topics)


@cache
def load_topics() -> TopicIndex:
    source = resources.files("newsarchive").joinpath("data/topics.toml")
    return parse_topics(source.read_text(encoding="utf-8"), "newsarchive/data/topics.toml")


def topic_ids() -> list[str]:
    return [t.id for t in load_topics().topics]


def _word_matches(word: str, spec: tuple[str, bool]) -> bool:
    return word.startswith(spec[0]) if spec[1] else word == spec[0]


# tokens remembered per index before the memo starts again (a worker's vocabulary stays below)
STARTING_MEMO_MAX = 200_000


def _starting(index: TopicIndex, token: str) -> tuple[_Entry, ...]:
    """The entries whose first word ``token`` is, longest term first.

    Memoised per token: an article repeats its words, articles share most of them, and the
    look-up (the exact word, the acronym, every indexed prefix length) was most of the cost of
    tagging, done again for every occurrence of every word.
    """
    found = index.starting.get(token)
    if found is None:  # one look-up per new token
        word = token.casefold()
        candidates = list(index.exact.get(word, ())) + list(index.cased.get(token, ()))
        for length in index.prefix_lengths:
            if length > len(word):
                break
            candidates += index.prefix.get(word[:length], ())
        found = tuple(sorted(candidates, key=lambda c: -len(c[2])))
        if len(index.starting) >= STARTING_MEMO_MAX:
            index.starting.clear()
        index.starting[token] = found
    return found


def _matches(index: TopicIndex, text: str) -> list[tuple[int, str]]:
    """(topic index, term) for every term occurrence in ``text``."""
    found: list[tuple[int, str]] = []
    raw = _TOKEN.findall(text)
    remembered = index.starting.get
    for i, token in enumerate(raw):
        candidates = remembered(token)
        if candidates is None:
            candidates = _starting(index, token)
        if not candidates:
            continue
        matched: set[int] = set()  # a word counts once per topic, for its longest term
        for topic_index, term, rest in candidates:
            if topic_index in matched:
                continue
            following = raw[i + 1 : i + 1 + len(rest)]
            if (topic_index, term) not in index.cased_terms:
                following = [w.casefold() for w in following]
            if len(following) == len(rest) and all(
                _word_matches(w, spec) for w, spec in zip(following, rest, strict=True)
            ):
                matched.add(topic_index)
                found.append((topic_index, term))
    if index.unspaced is not None:
        for match in index.unspaced.finditer(text):
            found += index.unspaced_terms[match.group()]
    return found


def tag_topics(
    title: str | None,
    body: str | None,
    companies: Iterable[str] = (),
    *,
    index: TopicIndex | None = None,
) -> list[TopicTag]:
    """The topics of an article, in rule order; ``companies`` are canonical names or ids."""
    index = index or load_topics()
    scores = [0] * len(index.topics)
    terms: list[dict[str, None]] = [{} for _ in index.topics]
    for text, weight in ((title, TITLE_WEIGHT), (body, 1)):
        for topic_index, term in _matches(index, text or ""):
            scores[topic_index] += weight
            terms[topic_index][term] = None
    kinds = _company_kinds(companies)
    tags = []
    for i, topic in enumerate(index.topics):
        for kind in topic.company_kinds:
            if kind in kinds:
                scores[i] += 1
                terms[i][f"company:{kind}"] = None
        if scores[i] >= topic.min_score:
            tags.append(TopicTag(topic=topic.id, score=scores[i], terms=list(terms[i])))
    return tags


def _company_kinds(companies: Iterable[str]) -> set[str]:
    gaz = load_gazetteer()
    by_name = {c.name: c for c in gaz.companies.values()}
    kinds = set()
    for name in companies:
        company = gaz.companies.get(name) or by_name.get(name)
        if company is not None:
            kinds.add(company.kind)
    return kinds
