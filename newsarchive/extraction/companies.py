"""Find automotive companies named in an article, from the gazetteer in data/companies.toml.

Matching rule (see the data file's header too): every alias matches case-sensitively as a whole
word, i.e. not inside a longer word of letters or digits ("VW" not in "VWX", "Kia" not in
"Kiara"). Aliases under ``strict`` are ordinary words or surnames ("Mini", "Seat", "Ford"); they
match only mid-sentence and not right after another capitalised word, which removes sentence
starts ("Mini displays are...") and personal names ("Harrison Ford"). Longer aliases are tried
first so "Volkswagen Group" is one hit, not two.

The gazetteer is parsed and validated once per process; a broken file raises ConfigError naming
the entry at fault.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from newsarchive.errors import ConfigError

logger = logging.getLogger(__name__)

_CAPITALISED_WORD_BEFORE = re.compile(r"(?:^|[\s(\"'“‘])[A-Z][\w'’.-]*\s+$")
_UNCASED_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_SENTENCE_START = re.compile(r"(?:^|[.!?:…]\s+|[\n\"“«(]\s*)$")


@dataclass(frozen=True, slots=True)
class Gazetteer:
    pattern: re.Pattern[str]
    names: dict[str, str]  # alias -> canonical name
    strict: frozenset[str]


def _parse(text: str, origin: str) -> Gazetteer:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: invalid TOML: {exc}") from exc
    entries = data.get("company")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{origin}: expected a non-empty [[company]] array")
    names: dict[str, str] = {}
    strict: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"{origin}: company #{index}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: not a table")
        unknown = set(entry) - {"name", "aliases", "strict"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}: 'name' must be a non-empty string")
        where = f"{origin}: company {name!r}"
        aliases = entry.get("aliases", [])
        strict_aliases = entry.get("strict", [])
        for key, values in (("aliases", aliases), ("strict", strict_aliases)):
            if not isinstance(values, list) or not all(
                isinstance(v, str) and v.strip() for v in values
            ):
                raise ConfigError(f"{where}: {key!r} must be a list of non-empty strings")
        if not aliases and not strict_aliases:
            raise ConfigError(f"{where}: needs at least one alias")
        for alias in [*aliases, *strict_aliases]:
            if alias in names and names[alias] != name:
                raise ConfigError(f"{where}: alias {alias!r} already belongs to {names[alias]!r}")
            names[alias] = name
        strict.update(strict_aliases)
    ordered = sorted(names, key=len, reverse=True)
    bounded = "|".join(re.escape(a) for a in ordered if not _UNCASED_SCRIPT.search(a))
    unbounded = "|".join(re.escape(a) for a in ordered if _UNCASED_SCRIPT.search(a))
    # Chinese/Japanese text has no spaces, so word boundaries only apply to cased scripts.
    parts = [rf"(?<![\w-])(?:{bounded})(?![\w]|-\w)"] + ([f"(?:{unbounded})"] if unbounded else [])
    pattern = re.compile("|".join(parts))
    return Gazetteer(pattern, names, frozenset(strict))


@cache
def load_gazetteer() -> Gazetteer:
    source = resources.files("newsarchive").joinpath("data/companies.toml")
    gazetteer = _parse(source.read_text(encoding="utf-8"), "newsarchive/data/companies.toml")
    logger.debug("loaded %d company aliases", len(gazetteer.names))
    return gazetteer


def find_companies(*texts: str | None, gazetteer: Gazetteer | None = None) -> list[str]:
    """Canonical company names in order of first mention across ``texts``."""
    gaz = gazetteer or load_gazetteer()
    found: list[str] = []
    for text in texts:
        if not text:
            continue
        for match in gaz.pattern.finditer(text):
            alias = match.group(0)
            if alias in gaz.strict:
                before = text[max(0, match.start() - 40) : match.start()]
                if _SENTENCE_START.search(before) or _CAPITALISED_WORD_BEFORE.search(before):
                    continue
            name = gaz.names[alias]
            if name not in found:
                found.append(name)
    return found
