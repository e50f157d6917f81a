"""The search query language, parsed once and rendered for each full-text backend.

Syntax
------
``electric battery``
    Words: every word must match (``AND`` between words is accepted and means the same).
``"solid state battery"``
    A quoted phrase: the words in this order, next to each other.
``tesla OR byd``
    Either term. ``OR`` (upper case) binds tighter than the implicit AND:
    ``battery tesla OR byd recall`` means battery AND (tesla OR byd) AND recall.
``-recall`` / ``-"press release"``
    Exclude articles containing the word or phrase. A query needs at least one positive term,
    and an excluded term cannot be one side of an ``OR``.
``electr*``
    Prefix: any word starting with ``electr`` (at least 2 letters or digits before ``*``).

Matching rules, the same on SQLite and PostgreSQL:

- Case does not matter; **accents do**: ``città`` finds "città" and "CITTÀ" but not "citta".
  (PostgreSQL's ``simple`` configuration keeps accents and cannot be told otherwise without an
  extension, so SQLite's accent-folding FTS5 candidates are re-checked against these rules.)
- Text is cut into words at every character that is not a letter or a digit, so ``e-tron`` is
  the phrase "e tron" and ``l'auto`` is "l auto". Words with no letter or digit (``&``, ``-``)
  are ignored.
- Title and body are searched together; a phrase does not run from the title into the body.

Every word reaches the database as a quoted FTS5 string or a bound ``tsquery`` argument, so
user input cannot smuggle in FTS5 operators, column filters or SQL.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsarchive.errors import QuerySyntaxError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

logger = logging.getLogger(__name__)

MIN_PREFIX = 2
# Terms in one query (words and phrases, OR'd or not). The backends nest one expression per
# term: PostgreSQL's nested tsquery overflowed Python's recursion limit near 90 OR'd terms and
# SQLite's expression depth (1,000) near 1,000; no real search needs more than a few dozen.
MAX_TERMS = 64
MAX_QUERY_CHARS = 2000
_WORD = re.compile(r"[^\W_]+")


# The only characters whose lower case depends on what surrounds them (final sigma) or turns a
# letter into a letter and a combining mark (İ → i̇); without them, lower-casing the whole text
# before cutting it gives the same words as lower-casing each word, at a fraction of the cost.
_WORDWISE_LOWER = re.compile("[\u0130\u03a3]")


def words(text: str) -> list[str]:
    """Cut text into lower-case words the way both full-text indexes do (unicode61 / 'simple')."""
    text = unicodedata.normalize("NFC", text)
    if _WORDWISE_LOWER.search(text) is None:
        return _WORD.findall(text.lower())
    return [w.lower() for w in _WORD.findall(text)]


@dataclass(frozen=True, slots=True)
class Term:
    """A word or quoted phrase as typed (``text``) and the words it matches (``tokens``)."""

    text: str
    tokens: tuple[str, ...]
    prefix: bool = False
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Terms joined by OR: at least one must match."""

    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """All ``required`` groups must match and no ``excluded`` term may."""

    required: tuple[AnyOf, ...]
    excluded: tuple[Term, ...]
    source: str

    def positive_terms(self) -> list[Term]:
        return [t for group in self.required for t in group.terms]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "word", "phrase", "or", "and"
    text: str
    pos: int
    negated: bool = False
    prefix: bool = False


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        negated = False
        if ch == "-" and i + 1 < n and not text[i + 1].isspace():
            negated = True
            i += 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError(
                    f'unbalanced quote: the " at position {i + 1} is never closed'
                )
            prefix = end + 1 < n and text[end + 1] == "*"
            if prefix:
                raise QuerySyntaxError(
                    f"prefix * at position {end + 2} must follow a word, not a phrase"
                )
            tokens.append(_Token("phrase", text[i + 1 : end], start, negated))
            i = end + 1
            continue
        j = i
        while j < n and not text[j].isspace() and text[j] != '"':
            j += 1
        raw = text[i:j]
        i = j
        if not negated and raw in ("OR", "AND"):
            tokens.append(_Token(raw.lower(), raw, start))
            continue
        prefix = raw.endswith("*")
        tokens.append(_Token("word", raw.rstrip("*") if prefix else raw, start, negated, prefix))
    return tokens


def _term(tok: _Token) -> Term | None:
    tokens = tuple(words(tok.text))
    if not tokens:
        return None
    if tok.prefix:
        if len(tokens) != 1 or tokens[0] != tok.text.lower():
            raise QuerySyntaxError(
                f"prefix search at position {tok.pos + 1} needs a plain word before *, "
                f"got {tok.text!r}"
            )
        if len(tokens[0]) < MIN_PREFIX:
            raise QuerySyntaxError(
                f"prefix {tok.text!r}* at position {tok.pos + 1} is too short "
                f"(at least {MIN_PREFIX} letters)"
            )
    return Term(tok.text, tokens, tok.prefix, tok.kind == "phrase")


def parse_query(text: str) -> SearchQuery:
    """Parse a user query; raise QuerySyntaxError saying what is wrong and where (1-based)."""
    if not text or not text.strip():
        raise QuerySyntaxError("empty query: type at least one word to search for")
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"query too long: at most {MAX_QUERY_CHARS} characters")
    required: list[list[Term]] = []
    excluded: list[Term] = []
    pending_or: _Token | None = None
    last_was_term = False
    for tok in _lex(text):
        if tok.kind == "and":
            if pending_or is not None:
                raise QuerySyntaxError(f"AND at position {tok.pos + 1} right after OR")
            continue
        if tok.kind == "or":
            if not last_was_term or pending_or is not None:
                raise QuerySyntaxError(
                    f"OR at position {tok.pos + 1} has no term before it"
                    if pending_or is None
                    else f"OR at position {tok.pos + 1} follows another OR"
                )
            pending_or = tok
            continue
        term = _term(tok)
        if tok.negated:
            if pending_or is not None:
                raise QuerySyntaxError(
                    f"an excluded term (position {tok.pos + 1}) cannot be part of OR"
                )
            if term is not None:
                excluded.append(term)
            last_was_term = False
            continue
        if term is None:
            if pending_or is not None:
                raise QuerySyntaxError(
                    f"OR at position {pending_or.pos + 1} is followed by {tok.text!r}, "
                    "which has no letters or digits"
                )
            continue
        if pending_or is not None:
            required[-1].append(term)
            pending_or = None
        else:
            required.append([term])
        last_was_term = True
    if pending_or is not None:
        raise QuerySyntaxError(f"OR at position {pending_or.pos + 1} has no term after it")
    terms = sum(len(group) for group in required) + len(excluded)
    if terms > MAX_TERMS:
        raise QuerySyntaxError(f"too many terms ({terms}): a query takes at most {MAX_TERMS}")
    if not required:
        if excluded:
            raise QuerySyntaxError(
                "only excluded terms: add at least one word the articles must contain"
            )
        raise QuerySyntaxError("empty query: no letters or digits to search for")
    return SearchQuery(
        tuple(AnyOf(tuple(group)) for group in required), tuple(excluded), text.strip()
    )


def _fts5_string(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _fts5_term(term: Term, words: Mapping[str, Sequence[str]]) -> str:
    # The tokens, not the raw text: what FTS5 matches is then exactly what the checker expects.
    if term.prefix and words.get(term.tokens[0]):
        spelled = [_fts5_string(w) for w in words[term.tokens[0]]]
        return spelled[0] if len(spelled) == 1 else "(" + " OR ".join(spelled) + ")"
    quoted = _fts5_string(" ".join(term.tokens))
    return quoted + "*" if term.prefix else quoted


def to_fts5(
    query: SearchQuery,
    *,
    with_exclusions: bool = True,
    words: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """FTS5 MATCH text; every token quoted, so no FTS5 syntax can come from the user.

    Search leaves exclusions out (``with_exclusions=False``) because FTS5 folds accents: ``NOT
    "città"`` would also drop articles that only say "citta". The checker applies them instead.
    ``words`` maps a prefix to the index's words that start with it (all of them): the prefix
    is then spelled as those words OR'd, which FTS5 matches alike (see
    ``search.fts5_query``).
    """
    words = words or {}
    groups = []
    for group in query.required:
        parts = [_fts5_term(t, words) for t in group.terms]
        groups.append(parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")")
    text = " AND ".join(groups)
    if with_exclusions:
        for term in query.excluded:
            text = f"({text}) NOT {_fts5_term(term, words)}"
    return text


def tsquery_lexeme(token: str) -> str:
    """A single lexeme quoted for ``to_tsquery`` (used only for prefixes; words are bound)."""
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


class _Doc:
    """Word positions of one article, for checking a query the way both indexes match it.

    Only the words the query can use are kept (its words, and any word starting with one of
    its prefixes): the checker runs on every candidate of a page, and a position map of every
    word of a long body cost more than the rest of a search.
    """

    __slots__ = ("positions",)

    def __init__(
        self,
        title: str | None,
        body: str | None,
        wanted: frozenset[str],
        prefixes: tuple[str, ...] = (),
    ) -> None:
        self.positions: dict[str, list[int]] = {}
        title_words = words(title or "")
        # body positions start one past a gap, so that no phrase spans title and body
        for start, ws in ((0, title_words), (len(title_words) + 1, words(body or ""))):
            for i, w in enumerate(ws, start):
                if w in wanted or (prefixes and w.startswith(prefixes)):
                    self.positions.setdefault(w, []).append(i)

    def has(self, term: Term) -> bool:
        *head, last = term.tokens
        if term.prefix:
            last_positions = sorted(
                p for w, ps in self.positions.items() if w.startswith(last) for p in ps
            )
        else:
            last_positions = self.positions.get(last, [])
        if not head:
            return bool(last_positions)
        firsts = set(self.positions.get(head[0], ()))
        for k, w in enumerate(head[1:], start=1):
            firsts &= {p - k for p in self.positions.get(w, ())}
            if not firsts:
                return False
        return any(p - len(head) in firsts for p in last_positions)


def matches(query: SearchQuery, title: str | None, body: str | None) -> bool:
    """Whether an article matches under the documented rules (accents and all)."""
    terms = [*query.positive_terms(), *query.excluded]
    wanted = frozenset(tok for t in terms for tok in t.tokens)
    prefixes = tuple(t.tokens[-1] for t in terms if t.prefix)
    doc = _Doc(title, body, wanted, prefixes)
    if any(doc.has(t) for t in query.excluded):
        return False
    return all(any(doc.has(t) for t in group.terms) for group in query.required)


SNIPPET_WORDS = 32
_FRAGMENTS = 2


def snippet(query: SearchQuery, body: str | None, highlight: tuple[str, str] = ("[", "]")) -> str:
    """Up to two fragments of ``body`` around the query's words, those words marked.

    The words marked are those the checker matches (a query word, or a word starting with a
    query prefix), so the snippet shows why the article matched. Computed from the body the
    checker has already read: asking the database (``ts_headline``) parses each body again.
    """
    text = unicodedata.normalize("NFC", body or "")
    terms = query.positive_terms()
    wanted = frozenset(tok for t in terms for tok in t.tokens)
    prefixes = tuple(t.tokens[-1] for t in terms if t.prefix)
    size = SNIPPET_WORDS // _FRAGMENTS
    # the words are cut only as far as the fragments reach (and one more, for the stop after
    # the last): a page's twenty bodies cut whole were a quarter of a search's client time
    spans: list[tuple[int, int]] = []
    hits: list[int] = []
    windows: list[tuple[int, int]] = []
    for m in _WORD.finditer(text):
        i = len(spans)
        if len(windows) == _FRAGMENTS and i > windows[-1][1]:
            break
        spans.append((m.start(), m.end()))
        word = m.group().lower()
        if word in wanted or (prefixes and word.startswith(prefixes)):
            hits.append(i)
            if len(windows) < _FRAGMENTS and not (windows and i < windows[-1][1]):
                first = max(0, i - size // 4)
                windows.append((first, first + size))
    if not spans:
        return ""
    windows = [(first, min(len(spans), end)) for first, end in windows]
    if not windows:
        windows = [(0, min(len(spans), SNIPPET_WORDS))]
    marked = set(hits)
    fragments = []
    for first, end in windows:
        out = []
        pos = spans[first][0]
        for i in range(first, end):
            start, stop = spans[i]
            out.append(text[pos:start])
            word = text[start:stop]
            out.append(f"{highlight[0]}{word}{highlight[1]}" if i in marked else word)
            pos = stop
        gap = text[pos : spans[end][0]] if end < len(spans) else text[pos:]
        if gap.strip() in (".", "!", "?", "…"):
            out.append(gap.strip())
        fragments.append("".join(out))
    return " … ".join(fragments)
