"""Entities that survive translation: companies, places, numbers and model codes.

A translation into Chinese or German shares almost no words with its English original, and
German capitalises every noun, so "capitalised word = name" fails there. What every version of
a story keeps is what it is about: the companies (gazetteer ids, whatever the script the name is
written in), the places (``data/places.toml``), the figures (normalised, so "3.2 billion",
"3,2 Milliarden" and "32亿" are one number) and model codes ("SU7", "EX30"). These are the
anchors of cross-language copy links (``fingerprint.py``) and the keys of stories
(``similarity.py``). Pure functions.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from newsarchive.errors import ConfigError
from newsarchive.extraction.companies import (
    _UNSPACED_SCRIPT,
    _WORD_CHARS,
    Hit,
    _alternation,
    company_names,
    data_entries,
    find_companies,
    guarded,
    mentions,
    scan,
)

logger = logging.getLogger(__name__)

# Scale words after a number, in the languages of the source registry (Indonesian too) and CJK.
_SCALES: dict[str, float] = {
    "thousand": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "mln": 1e6,
    "mio": 1e6,
    "millionen": 1e6,
    "millón": 1e6,
    "millones": 1e6,
    "milioni": 1e6,
    "milione": 1e6,
    "milhões": 1e6,
    "milhão": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "bn": 1e9,
    "milliarde": 1e9,
    "milliarden": 1e9,
    "mrd": 1e9,
    "milliard": 1e9,
    "milliards": 1e9,
    "mds": 1e9,
    "md": 1e9,
    "millardo": 1e9,
    "millardos": 1e9,
    "mil millones": 1e9,
    "miliardo": 1e9,
    "miliardi": 1e9,
    "mld": 1e9,
    "bilhões": 1e9,
    "bilhão": 1e9,
    "trillion": 1e12,
    "ribu": 1e3,
    "juta": 1e6,
    "miliar": 1e9,
    "triliun": 1e12,
    "万": 1e4,
    "萬": 1e4,
    "亿": 1e8,
    "億": 1e8,
    "만": 1e4,
    "억": 1e8,
    "千": 1e3,
}
_SCALE_RE = "|".join(re.escape(s) for s in sorted(_SCALES, key=len, reverse=True))
# 3,200 / 3.200 / 3 200 are thousands (a group of exactly three digits); 3.5 / 3,5 decimals
_NUMBER = re.compile(
    rf"(?<![{_WORD_CHARS}.,])"
    r"(?P<value>\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+(?![\d])|\d+(?:[.,]\d+)?)"
    rf"(?:\s?(?P<scale>{_SCALE_RE})(?![{_WORD_CHARS}]))?",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?:19[89]\d|20[0-4]\d)")
# Model codes: letters then digits ("SU7", "EX30", "ID4"), or digits then letters ("500e").
_CODE = re.compile(
    rf"(?<![{_WORD_CHARS}])(?:[A-Z]{{1,4}}\d{{1,4}}[a-z]?|\d{{2,3}}[a-z])(?![{_WORD_CHARS}])"
)
MIN_NUMBER = 10  # smaller integers are counts and list items, not anchors


@dataclass(frozen=True, slots=True)
class Entity:
    kind: str  # company, place, number, code
    value: str
    start: int


@dataclass(frozen=True, slots=True)
class PlaceMatcher:
    pattern: re.Pattern[str]
    ids: dict[str, str]  # name -> place id
    broad: frozenset[str] = frozenset()  # countries and regions


@cache
def load_places() -> PlaceMatcher:
    source = resources.files("newsarchive").joinpath("data/places.toml")
    origin = "newsarchive/data/places.toml"
    data, entries = data_entries(source.read_text(encoding="utf-8"), origin, "place")
    ids: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ConfigError(f"{origin}: every [[place]] must be a table")
        place_id, names = entry.get("id"), entry.get("names")
        if not isinstance(place_id, str) or not isinstance(names, list) or not names:
            raise ConfigError(f"{origin}: every [[place]] needs an id and names")
        for name in names:
            ids.setdefault(name, place_id)
    spaced = [n for n in ids if not _UNSPACED_SCRIPT.search(n)]
    unspaced = [n for n in ids if _UNSPACED_SCRIPT.search(n)]
    pattern = (
        rf"(?<![{_WORD_CHARS}])(?P<spaced>{_alternation(spaced)})(?![{_WORD_CHARS}])"
        f"|(?P<unspaced>{_alternation(unspaced)})"
    )
    broad = data.get("broad", [])
    if not isinstance(broad, list) or not set(broad) <= set(ids.values()):
        raise ConfigError(f"{origin}: 'broad' must list place ids")
    return PlaceMatcher(guarded(pattern, {n[0] for n in ids}), ids, frozenset(broad))


def number_value(raw: str, scale: str | None) -> float | None:
    """``"3,200"`` → 3200, ``"3,5"`` → 3.5, with the scale word applied; None if unreadable."""
    text = raw.replace("\u00a0", " ").replace("\u202f", " ")
    if re.fullmatch(r"\d{1,3}(?:[., ]\d{3})+", text):
        value = float(re.sub(r"\D", "", text))
    else:
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            return None
    if scale:
        value *= _SCALES.get(scale.casefold(), 1.0)
    return value


def _number_key(value: float) -> str:
    return f"{value:.3g}"


def _numbers(text: str) -> list[tuple[Entity, int]]:
    found = []
    for m in _NUMBER.finditer(text):
        raw, scale = m.group("value"), m.group("scale")
        value = number_value(raw, scale)
        if value is None:
            continue
        if not scale and (_YEAR.fullmatch(raw) or (value < MIN_NUMBER and value == int(value))):
            continue
        found.append((Entity("number", _number_key(value), m.start()), m.end()))
    return found


def numbers(text: str) -> list[Entity]:
    """Figures in ``text``: years and small integers left out (every article has them)."""
    return [e for e, _ in _numbers(text)]


def _places(text: str) -> list[tuple[Entity, int]]:
    matcher = load_places()
    return [
        (Entity("place", matcher.ids[m.group()], m.start()), m.end())
        for m in matcher.pattern.finditer(text)
        if m.group() in matcher.ids
    ]


def places(text: str) -> list[Entity]:
    return [e for e, _ in _places(text)]


def _codes(text: str) -> list[tuple[Entity, int]]:
    return [
        (Entity("code", m.group().casefold(), m.start()), m.end()) for m in _CODE.finditer(text)
    ]


def codes(text: str) -> list[Entity]:
    return [e for e, _ in _codes(text)]


def _in_order(companies: list[Entity], others: list[Entity]) -> list[Entity]:
    found = companies + others
    found.sort(key=lambda e: e.start)
    return found


def _company_entities(texts: tuple[str, ...], hits: list[list[Hit]]) -> list[Entity]:
    return [Entity("company", m.company_id, m.start) for m in mentions(texts, hits)]


def entities(text: str) -> list[Entity]:
    """Companies, places, numbers and codes of ``text``, in text order (NFKC-normalised, so
    full-width digits in Chinese text are digits)."""
    text = unicodedata.normalize("NFKC", text)
    others = [e for e, _ in _places(text) + _numbers(text) + _codes(text)]
    return _in_order(_company_entities((text,), [scan(text)]), others)


@dataclass(frozen=True, slots=True)
class ArticleEntities:
    """What an article's title and body name, as its three readers ask for it.

    ``companies`` is :func:`~newsarchive.extraction.companies.find_companies` of the title and
    body (the article's field), ``body`` is :func:`entities` of the body (the fingerprint's
    entity sequence) and ``text`` :func:`entities` of the title and body as one text, a line
    break between them (the story keys, :func:`~newsarchive.extraction.similarity.event_keys`).
    """

    companies: list[str]
    body: list[Entity]
    text: list[Entity]


@lru_cache(maxsize=2)
def article_entities(title: str | None, body: str) -> ArticleEntities:
    """:class:`ArticleEntities` of one article, from one scan of its text per pattern where
    that gives the same values (:func:`shared_scan`). Cached for the article being analysed:
    its extraction, fingerprint and story keys each ask for it."""
    return shared_scan(title, body) or _each_on_its_own(title, body)


def shared_scan(title: str | None, body: str) -> ArticleEntities | None:
    """:class:`ArticleEntities` from one scan of the story keys' text, or None where that scan
    cannot stand for the others.

    The gazetteer and the other entity patterns ran over the same text three times per
    article (extraction, fingerprint, story keys), a few per cent of an extraction worker's
    time. Here the title and body are scanned once, as the story keys' text
    ``title + "\n" + body``. Every look-around of every pattern sees a line break as it sees
    the start or the end of a text, so unless a match spans the break, the matches before it
    are the title's own and those after it the body's (shifted), match for match. Which strict
    aliases count depends on the text around them and on what else the text names: that is
    decided again in each reader's own text. None (compute each value on its own) when a
    match spans the break (a title ending "NYSE:" before a body starting "F"), or when the
    NFKC form of the whole text is not that of the title and of the body joined. The
    article's companies are read from the raw title and body: they come from the scan only
    when NFKC leaves both as they are.
    """
    head = unicodedata.normalize("NFKC", title or "")
    norm_body = unicodedata.normalize("NFKC", body)
    text = unicodedata.normalize("NFKC", f"{title or ''}\n{body}")
    cut = len(head)
    if text != f"{head}\n{norm_body}":
        return None
    hits = scan(text)
    others = _places(text) + _numbers(text) + _codes(text)
    spans = [(h.start, h.end) for h in hits] + [(e.start, end) for e, end in others]
    if any(start <= cut < end for start, end in spans):
        return None
    offset = cut + 1
    body_hits = [h.shifted(offset) for h in hits if h.start > cut]
    body_others = [Entity(e.kind, e.value, e.start - offset) for e, _ in others if e.start > cut]
    if head == (title or "") and norm_body == body:
        head_hits = [h for h in hits if h.end <= cut]
        companies = company_names(mentions((title, body), [head_hits, body_hits]))
    else:
        companies = find_companies(title, body)
    return ArticleEntities(
        companies=companies,
        body=_in_order(_company_entities((norm_body,), [body_hits]), body_others),
        text=_in_order(_company_entities((text,), [hits]), [e for e, _ in others]),
    )


def _each_on_its_own(title: str | None, body: str) -> ArticleEntities:
    return ArticleEntities(
        companies=find_companies(title, body),
        body=entities(body),
        text=entities(f"{title or ''}\n{body}"),
    )


def entity_token(entity: Entity) -> str:
    """One token per entity, prefixed by kind, for anchors and keys."""
    prefix = {"company": "@", "place": "^", "number": "#", "code": "%"}[entity.kind]
    return prefix + entity.value


def paragraph_entities(body: str) -> list[list[str]]:
    """Entity tokens of each paragraph (body line) that has any, in order."""
    out = []
    for line in body.splitlines():
        tokens = [entity_token(e) for e in entities(line)] if line.strip() else []
        if tokens:
            out.append(tokens)
    return out
