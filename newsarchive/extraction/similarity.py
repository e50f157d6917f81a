"""Event keys and event similarity: are two articles reports of the same event?

Copies are told by their text (``fingerprint.py``); independent reports of one event share no
text, in one language or across several, but they name the same things: the companies, the
places, the figures, the model codes, the people. An article's *event keys* are those, each with
a weight for how much it says about the event (a figure or a model code says more than a company
that is in the news every day). Two articles are about the same event when the keys they share
weigh at least ``STORY_THRESHOLD`` of the lighter article's keys, and at least ``MIN_SHARED``
in absolute terms, not counting companies and countries (two stories about one company in one
week share the company, often its country, and nothing else). Pure functions; the archive's story index is in
``archive/stories.py``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from typing import TYPE_CHECKING

from newsarchive.extraction.entities import entities, entity_token, load_places

if TYPE_CHECKING:
    from newsarchive.extraction.entities import Entity

logger = logging.getLogger(__name__)

STORY_THRESHOLD = 0.45
MIN_SHARED = 4.0
# Articles about one event are published within this many days of each other.
STORY_WINDOW_DAYS = 3
WEIGHTS = {"@": 1.0, "^": 1.5, "#": 2.0, "%": 2.0, "~": 1.0}
# A country or region ("China", "Europe") is in too many stories: it weighs less, and shared
# broad places never count toward MIN_SHARED.
BROAD_WEIGHT = 0.5
# Languages whose capitalised words are names (German capitalises every noun; CJK has no case).
NAME_LANGUAGES = frozenset({"en", "fr", "es", "it", "pt", "nl", "sv", "da", "no", "pl", "cs"})
_CAPITALISED = re.compile(r"(?<![\w.])([A-ZÀ-Þ][a-zà-ÿ]{2,})\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“«]\s*|\n\s*)$")
_STOP = frozenset(
    """The This That These Those There Their They When While After Before Since Until With From
    For But And Its His Her Our Your What Which Who Why How Monday Tuesday Wednesday Thursday
    Friday Saturday Sunday January February March April May June July August September October
    November December Les Des Une Pour Dans Avec Mais Elle Lundi Mardi Mercredi Jeudi Vendredi
    Los Las Una Para Con Pero Este Esta Lunes Martes Miércoles Jueves Viernes Gli Della Nel Per
    Questo Lunedì Martedì Mercoledì Giovedì Venerdì""".split()  # noqa: SIM905
)


def _names(text: str) -> set[str]:
    """Capitalised words not at a sentence start: people, places, models, in cased languages."""
    found = set()
    for m in _CAPITALISED.finditer(text):
        word = m.group(1)
        if word in _STOP or _SENTENCE_START.search(text[max(0, m.start() - 3) : m.start()]):
            continue
        folded = unicodedata.normalize("NFKD", word.casefold())
        found.add("~" + "".join(c for c in folded if not unicodedata.combining(c)))
    return found


def event_keys(
    title: str | None, body: str, lang: str | None, *, text_entities: list[Entity] | None = None
) -> dict[str, float]:
    """The weighted event keys of an article (token -> weight). ``text_entities`` are the
    entities of the title and body as one text, when the caller has them
    (:func:`~newsarchive.extraction.entities.article_entities`)."""
    text = unicodedata.normalize("NFKC", f"{title or ''}\n{body}")
    broad = load_places().broad
    keys = {
        entity_token(e): BROAD_WEIGHT
        if e.kind == "place" and e.value in broad
        else WEIGHTS[entity_token(e)[0]]
        for e in (entities(text) if text_entities is None else text_entities)
    }
    primary = (lang or "").split("-")[0].casefold()
    if primary in NAME_LANGUAGES:
        # a name already known as a company or place is that entity, not a name
        known = {k[1:] for k in keys}
        for name in _names(text):
            if name[1:] not in known:
                keys.setdefault(name, WEIGHTS["~"])
    return keys


def index_keys(keys: dict[str, float]) -> list[str]:
    """The keys worth an index lookup: all but companies (too common to narrow anything)."""
    return sorted(k for k in keys if not k.startswith("@"))


def key_hash(token: str) -> int:
    """A key as a signed 64-bit integer, for the story key index."""
    return int.from_bytes(
        hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little", signed=True
    )


def serialise_keys(keys: dict[str, float]) -> str:
    return " ".join(sorted(keys))


def parse_keys(text: str) -> dict[str, float]:
    broad = load_places().broad
    return (
        {
            k: BROAD_WEIGHT if k[1:] in broad and k[0] == "^" else WEIGHTS.get(k[0], 1.0)
            for k in text.split()
        }
        if text
        else {}
    )


def event_similarity(a: dict[str, float], b: dict[str, float]) -> float:
    """Share of the lighter article's key weight that the other article also has; 0.0 when
    the shared keys other than companies weigh less than ``MIN_SHARED``.

    Names (``~``) count only when both articles have some: a Chinese report has none, and
    an English one's names must not dilute what the two can share.
    """
    if not any(k.startswith("~") for k in a) or not any(k.startswith("~") for k in b):
        a = {k: w for k, w in a.items() if not k.startswith("~")}
        b = {k: w for k, w in b.items() if not k.startswith("~")}
    shared = a.keys() & b.keys()
    if sum(a[k] for k in shared if not k.startswith("@") and a[k] > BROAD_WEIGHT) < MIN_SHARED:
        return 0.0
    lighter = min(sum(a.values()), sum(b.values()))
    return sum(a[k] for k in shared) / lighter if lighter else 0.0
