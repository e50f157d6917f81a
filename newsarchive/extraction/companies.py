"""Find automotive companies named in an article, from the gazetteer in data/companies.toml.

The data file's header states the matching rules; in short: cased scripts match whole words,
case-sensitively (a German hyphen compound such as "VW-Chef" still counts); Chinese, Japanese and
Korean aliases match anywhere, since those scripts do not separate words; the longest alias wins;
``strict`` aliases (ordinary words, surnames, places) need the text to confirm them.

Everything here is pure: the gazetteer is parsed and validated once per process, and a broken
file raises ConfigError naming the entry at fault.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable

logger = logging.getLogger(__name__)

KINDS = ("group", "automaker", "brand", "supplier", "battery", "startup", "tech", "truck")
_KEYS = {"id", "name", "kind", "group", "aliases", "strict", "exclude", "tickers"}
# Letters and digits of scripts that separate words with spaces: an alias in these scripts must
# not touch another such character. CJK characters are deliberately not in the class, so "Tesla"
# in "特斯拉Tesla的" is still a whole word.
_WORD_CHARS = r"0-9A-Za-z\u00aa\u00b5\u00ba\u00c0-\u024f\u0370-\u03ff\u0400-\u052f\u0600-\u06ff"
_UNSPACED_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# A capitalised word right before a strict alias makes it part of a name ("Harrison Ford"),
# unless that word is an article or determiner that starts sentences ("The Ford plant").
_CAPITALISED_BEFORE = re.compile(r"(?:^|[^\w])([A-ZÀ-ÞĀ-Ž][\w'’.-]*)\s+$")
_DETERMINERS = frozenset(
    """The A An This That These Its Our New Der Die Das Den Dem Ein Eine Einen Le La Les L' Un
    Une Ce Cette El Los Las Una Il Lo Gli I Uno O Os As Um Uma Both Each Every""".split()  # noqa: SIM905
)
_SENTENCE_END = re.compile(r"[.!?。！？\n]")
_CJK_CUE_WINDOW = 20
_Trie = dict[str, "_Trie"]
_ARABIC = re.compile(r"[\u0600-\u06ff]")
# Arabic attaches "and", "by", "for", "to", "like" to the next word: "وتسلا"
_ARABIC_PARTICLES = "وبلفك"


@dataclass(frozen=True, slots=True)
class Company:
    id: str
    name: str
    kind: str
    group: str | None = None
    aliases: tuple[str, ...] = ()
    strict: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    tickers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Mention:
    """One company mention: where (``text`` index among the texts searched, character span) and
    which alias matched."""

    company_id: str
    name: str
    alias: str
    text: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Gazetteer:
    companies: dict[str, Company]
    pattern: re.Pattern[str]
    alias_ids: dict[str, str]  # alias or ticker -> company id
    strict: frozenset[str]
    cue_pattern: re.Pattern[str] | None = None
    cjk_cue_pattern: re.Pattern[str] | None = None
    children: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def names(self) -> dict[str, str]:
        """alias -> canonical name (kept for callers that only need names)."""
        return {alias: self.companies[cid].name for alias, cid in self.alias_ids.items()}

    def resolve(self, text: str) -> Company | None:
        """The company a user means by ``text``: its id, name or an alias, case-insensitive."""
        wanted = text.strip().casefold()
        if not wanted:
            return None
        for company in self.companies.values():
            if wanted in (company.id, company.name.casefold()):
                return company
        for alias, cid in self.alias_ids.items():
            if alias.casefold() == wanted:
                return self.companies[cid]
        return None

    def descendants(self, company_id: str) -> list[Company]:
        """The company and every company below it (a group's brands, at any depth)."""
        out: list[Company] = []
        todo = [company_id]
        seen: set[str] = set()
        while todo:
            cid = todo.pop(0)
            if cid in seen or cid not in self.companies:
                continue
            seen.add(cid)
            out.append(self.companies[cid])
            todo.extend(self.children.get(cid, ()))
        return out

    def top_group(self, company_id: str) -> str:
        """The id of the outermost group above a company (itself when it has none)."""
        seen = {company_id}
        current = self.companies[company_id]
        while current.group and current.group in self.companies and current.group not in seen:
            seen.add(current.group)
            current = self.companies[current.group]
        return current.id


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or name


def _strings(where: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(value)


def _company(entry: object, where: str) -> Company:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: not a table")
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: 'name' must be a non-empty string")
    where = f"{where.rsplit(':', 1)[0]}: company {name!r}"
    kind = entry.get("kind", "automaker")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}")
    group = entry.get("group")
    if group is not None and not isinstance(group, str):
        raise ConfigError(f"{where}: 'group' must be a company id")
    lists = {k: _strings(where, k, entry.get(k, [])) for k in ("aliases", "strict", "exclude")}
    tickers = _strings(where, "tickers", entry.get("tickers", []))
    if not lists["aliases"] and not lists["strict"]:
        raise ConfigError(f"{where}: needs at least one alias")
    return Company(
        id=str(entry.get("id") or _slug(name)),
        name=name,
        kind=kind,
        group=group,
        aliases=lists["aliases"],
        strict=lists["strict"],
        exclude=lists["exclude"],
        tickers=tickers,
    )


def _alternation(strings: list[str]) -> str:
    """One regex matching any of ``strings``, longest first, built as a character trie.

    A flat alternation of a thousand aliases makes the regex engine try each one at every
    position; the trie shares prefixes, which makes matching several times faster.
    """
    trie: _Trie = {}
    for word in strings:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _render(trie)


def guarded(pattern: str, starts: Iterable[str]) -> re.Pattern[str]:
    """``pattern`` compiled behind a look-ahead for the characters its matches can start with.

    Each alternative of a name pattern opens with a look-behind, which keeps the regex engine
    from skipping ahead by the first character: it tried the look-behind and then a branch of
    a few hundred first letters at every position of the text. One character-class test per
    position first makes a search of article text about six times faster, same matches.
    """
    chars = "".join(re.escape(c) for c in sorted(starts))
    return re.compile(f"(?=[{chars}])(?:{pattern})")


def _render(node: _Trie) -> str:
    terminal = "" in node
    branches = [re.escape(ch) + _render(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if terminal else body


def _ticker_regex(ticker: str) -> str:
    if ":" in ticker:  # "NYSE:F" is also written "NYSE: F" and "(NYSE:F)"
        exchange, symbol = (p.strip() for p in ticker.split(":", 1))
        return rf"{re.escape(exchange)}:\s?{re.escape(symbol)}"
    return re.escape(ticker)


def _cues(data: dict[str, object], origin: str) -> tuple[re.Pattern[str] | None, ...]:
    cues = data.get("cues", {})
    if not isinstance(cues, dict):
        raise ConfigError(f"{origin}: [cues] must be a table")
    latin = _strings(f"{origin}: cues", "latin", cues.get("latin", []))
    cjk = _strings(f"{origin}: cues", "cjk", cues.get("cjk", []))
    latin_re = (
        guarded(
            rf"(?<![{_WORD_CHARS}])(?:{_alternation(list(latin))})(?![{_WORD_CHARS}])",
            {c[0] for c in latin},
        )
        if latin
        else None
    )
    return latin_re, re.compile(_alternation(list(cjk))) if cjk else None


def data_entries(text: str, origin: str, table: str) -> tuple[dict[str, object], list[object]]:
    """A bundled TOML data file and its ``[[table]]`` array; ConfigError naming the file when it
    is not valid TOML or the array is missing or empty (gazetteer, topics, places)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: invalid TOML: {exc}") from exc
    entries = data.get(table)
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{origin}: expected a non-empty [[{table}]] array")
    return data, entries


def _parse(text: str, origin: str) -> Gazetteer:
    data, entries = data_entries(text, origin, "company")
    companies: dict[str, Company] = {}
    alias_ids: dict[str, str] = {}
    for index, entry in enumerate(entries, start=1):
        company = _company(entry, f"{origin}: company #{index}")
        if company.id in companies:
            raise ConfigError(f"{origin}: company id {company.id!r} is used twice")
        companies[company.id] = company
        for alias in [*company.aliases, *company.strict, *company.tickers]:
            owner = alias_ids.get(alias)
            if owner is not None and owner != company.id:
                raise ConfigError(
                    f"{origin}: company {company.name!r}: alias {alias!r} already belongs to "
                    f"{companies[owner].name!r}"
                )
            alias_ids[alias] = company.id
    children: dict[str, list[str]] = {}
    for company in companies.values():
        if company.group is None:
            continue
        if company.group not in companies:
            raise ConfigError(
                f"{origin}: company {company.name!r}: group {company.group!r} is not an id"
            )
        children.setdefault(company.group, []).append(company.id)
    names = [a for c in companies.values() for a in (*c.aliases, *c.strict)]
    spaced = [a for a in names if not _UNSPACED_SCRIPT.search(a)]
    unspaced = [a for a in names if _UNSPACED_SCRIPT.search(a)]
    tickers = sorted((t for c in companies.values() for t in c.tickers), key=len, reverse=True)
    # A German compound ("VW-Chef") may follow a hyphen; another name part ("Rolls-Royce") is
    # an alias of its own and wins by length.
    after = rf"(?![{_WORD_CHARS}]|-[a-z0-9])"
    parts = [rf"(?<![{_WORD_CHARS}\-])(?P<spaced>{_alternation(spaced)}){after}"]
    if tickers:
        ticker_re = "|".join(_ticker_regex(t) for t in tickers)
        parts.insert(0, rf"(?<![{_WORD_CHARS}\-.])(?P<ticker>{ticker_re})(?![{_WORD_CHARS}])")
    if unspaced:
        parts.append(f"(?P<unspaced>{_alternation(unspaced)})")
    arabic = [a for a in spaced if _ARABIC.search(a)]
    particles = _ARABIC_PARTICLES if arabic else ""
    if arabic:
        parts.append(
            rf"(?<![{_WORD_CHARS}])[{particles}](?P<arabic>{_alternation(arabic)})"
            rf"(?![{_WORD_CHARS}])"
        )
    latin_cues, cjk_cues = _cues(data, origin)
    return Gazetteer(
        companies=companies,
        pattern=guarded(
            "|".join(parts),
            {*(a[0] for a in names), *(t[0] for t in tickers), *particles},
        ),
        alias_ids=alias_ids,
        strict=frozenset(a for c in companies.values() for a in c.strict),
        cue_pattern=latin_cues,
        cjk_cue_pattern=cjk_cues,
        children={k: tuple(v) for k, v in children.items()},
    )


@cache
def load_gazetteer() -> Gazetteer:
    source = resources.files("newsarchive").joinpath("data/companies.toml")
    gazetteer = _parse(source.read_text(encoding="utf-8"), "newsarchive/data/companies.toml")
    logger.debug(
        "loaded %d companies, %d aliases", len(gazetteer.companies), len(gazetteer.alias_ids)
    )
    return gazetteer


def _ticker_id(gaz: Gazetteer, matched: str) -> str | None:
    key = re.sub(r":\s+", ":", matched)
    return gaz.alias_ids.get(key) or gaz.alias_ids.get(matched)


def _sentence(text: str, start: int, end: int) -> str:
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    found = _SENTENCE_END.search(text, end)
    return text[left : found.start() if found else len(text)]


def _excluded(company: Company, text: str, start: int, end: int) -> bool:
    for phrase in company.exclude:
        lo = max(0, start - len(phrase))
        window = text[lo : end + len(phrase)]
        for m in re.finditer(re.escape(phrase), window):
            if lo + m.start() <= start and lo + m.end() >= end:
                return True
    return False


@dataclass(frozen=True, slots=True)
class Hit:
    """One match of the gazetteer's pattern, before the strict aliases' check: the whole match
    (``start``, ``end``, ``matched``: an Arabic particle included), the alternative that matched
    (``group``) and its alias (``alias``, at ``alias_start``), and the company it names.

    A hit depends only on the text around it, so the hits of one text serve any part of it
    that ends at a line break (:func:`scan`, :func:`shifted`); whether a strict alias counts
    depends on the whole text searched and is decided afterwards (:func:`mentions`).
    """

    start: int
    end: int
    matched: str
    group: str | None
    alias: str
    alias_start: int
    company_id: str

    def shifted(self, offset: int) -> Hit:
        """The same hit in a text that starts ``offset`` characters later."""
        return Hit(
            self.start - offset,
            self.end - offset,
            self.matched,
            self.group,
            self.alias,
            self.alias_start - offset,
            self.company_id,
        )


def scan(text: str, gazetteer: Gazetteer | None = None) -> list[Hit]:
    """Every alias and ticker of the gazetteer in ``text``, in text order, strict ones unchecked."""
    gaz = gazetteer or load_gazetteer()
    hits = []
    for match in gaz.pattern.finditer(text):
        group = match.lastgroup
        surface = match.group(group or 0)
        cid = _ticker_id(gaz, surface) if group == "ticker" else gaz.alias_ids.get(surface)
        if cid is not None:
            hits.append(
                Hit(
                    match.start(),
                    match.end(),
                    match.group(),
                    group,
                    surface,
                    match.start(group or 0),
                    cid,
                )
            )
    return hits


def _confirmed(gaz: Gazetteer, text: str, hit: Hit, plain: set[str]) -> bool:
    """Whether a strict alias at ``hit`` is the company (rules in the data file's header)."""
    start, end, company_id = hit.start, hit.end, hit.company_id
    company = gaz.companies[company_id]
    if _excluded(company, text, start, end):
        return False
    if hit.group == "unspaced":
        if company_id in plain:
            return True
        sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
        stop = _SENTENCE_END.search(text, end)
        lo = max(sentence_start, start - _CJK_CUE_WINDOW)
        hi = min(stop.start() if stop else len(text), end + _CJK_CUE_WINDOW)
        window = text[lo:hi].replace(hit.matched, " ")
        return bool(gaz.cjk_cue_pattern and gaz.cjk_cue_pattern.search(window))
    before = text[max(0, start - 40) : start]
    capitalised = _CAPITALISED_BEFORE.search(before)
    if capitalised and capitalised.group(1) not in _DETERMINERS:
        return False
    if company_id in plain:
        return True
    sentence = _sentence(text, start, end)
    if gaz.cue_pattern is not None and gaz.cue_pattern.search(sentence):
        return True
    others = (m for m in gaz.pattern.finditer(sentence) if m.group() != hit.matched)
    return any(m.group() not in gaz.strict for m in others)


def mentions(
    texts: tuple[str | None, ...], hits: list[list[Hit]], gazetteer: Gazetteer | None = None
) -> list[Mention]:
    """The mentions of ``texts`` given each one's :func:`scan`: a strict alias counts only when
    the texts confirm it, and a company named plainly in any of them confirms it in all."""
    gaz = gazetteer or load_gazetteer()
    plain = {h.company_id for found in hits for h in found if h.alias not in gaz.strict}
    out = []
    for index, found in enumerate(hits):
        text = texts[index] or ""
        for hit in found:
            if hit.alias in gaz.strict and not _confirmed(gaz, text, hit, plain):
                continue
            out.append(
                Mention(
                    company_id=hit.company_id,
                    name=gaz.companies[hit.company_id].name,
                    alias=hit.alias,
                    text=index,
                    start=hit.alias_start,
                    end=hit.alias_start + len(hit.alias),
                )
            )
    return out


def find_mentions(*texts: str | None, gazetteer: Gazetteer | None = None) -> list[Mention]:
    """Every company mention in ``texts`` (e.g. title and body), in text order."""
    gaz = gazetteer or load_gazetteer()
    return mentions(texts, [scan(text, gaz) if text else [] for text in texts], gaz)


def company_names(found: list[Mention]) -> list[str]:
    """Canonical company names of ``found`` in order of first mention."""
    return list(dict.fromkeys(m.name for m in found))


def find_company_ids(*texts: str | None, gazetteer: Gazetteer | None = None) -> list[str]:
    """Company ids in order of first mention across ``texts``."""
    return list(dict.fromkeys(m.company_id for m in find_mentions(*texts, gazetteer=gazetteer)))


def find_companies(*texts: str | None, gazetteer: Gazetteer | None = None) -> list[str]:
    """Canonical company names in order of first mention across ``texts``."""
    return company_names(find_mentions(*texts, gazetteer=gazetteer))
