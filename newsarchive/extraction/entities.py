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
from functools import cache
from importlib import resources

from newsarchive.errors import ConfigError
from newsarchive.extraction.companies import (
    _UNSPACED_SCRIPT,
    _WORD_CHARS,
    _alternation,
    data_entries,
    find_mentions,
    guarded,
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


def numbers(text: str) -> list[Entity]:
    """Figures in ``text``: years and small integers left out (every article has them)."""
    found = []
    for m in _NUMBER.finditer(text):
        raw, scale = m.group("value"), m.group("scale")
        value = number_value(raw, scale)
        if value is None:
            continue
        if not scale and (_YEAR.fullmatch(raw) or (value < MIN_NUMBER and value == int(value))):
            continue
        found.append(Entity("number", _number_key(value), m.start()))
    return found


def places(text: str) -> list[Entity]:
    matcher = load_places()
    return [
        Entity("place", matcher.ids[m.group()], m.start())
        for m in matcher.pattern.finditer(text)
        if m.group() in matcher.ids
    ]


def codes(text: str) -> list[Entity]:
    return [Entity("code", m.group().casefold(), m.start()) for m in _CODE.finditer(text)]


def entities(text: str) -> list[Entity]:
    """Companies, places, numbers and codes of ``text``, in text order (NFKC-normalised, so
    full-width digits in Chinese text are digits)."""
    text = unicodedata.normalize("NFKC", text)
    found = [Entity("company", m.company_id, m.start) for m in find_mentions(text)]
    found += places(text) + numbers(text) + codes(text)
    found.sort(key=lambda e: e.start)
    return found


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
