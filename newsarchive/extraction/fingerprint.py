"""Content fingerprints for duplicate and revision detection.

Pure functions (no SQL, no I/O) so the pipelines can compute a fingerprint in the extraction
process pool and the archive only does lookups. Parameters are chosen and measured in
``docs/dedupe.md``; changing any of them (shingle size, permutations, bands, seed, MinHash
scheme) changes every stored signature and band key, so the archive's ``article_signatures``
and ``lsh_bands`` (and, for the anchor parameters, ``article_anchors`` and ``anchor_bands``)
would have to be recomputed.

Two signals: word shingles find same-language copies; *anchors* find translations. A
translation shares almost no words with its original, but it keeps the names, numbers and
acronyms, in the same order. An independently written article about the same event names the
same entities too, in another order and proportion, so the signal is the ordered pairs of
consecutive anchors, not the anchors themselves.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from newsarchive.extraction.entities import entities, entity_token

if TYPE_CHECKING:
    from newsarchive.extraction.entities import Entity

if TYPE_CHECKING:
    from collections.abc import Iterable

logger = logging.getLogger(__name__)

SHINGLE_WORDS = 5
NUM_PERM = 128
BANDS = 42
ROWS = 3  # 42 x 3 = 126 of the 128 values are banded; all 128 are used for scoring
SEED = 20261125
SCHEME = "affine32"
# Similarity (estimated Jaccard of 5-word shingles) from which two articles are one story.
NEAR_THRESHOLD = 0.35
# Below this many words a text has too few shingles for a meaningful estimate: such articles
# still take part in exact (hash) matching but are kept out of the LSH index.
MIN_NEAR_WORDS = 40
# A body line this short and without sentence-final punctuation is a link, teaser, counter or
# subhead rather than prose; refetches that only change such lines are not new revisions.
SHORT_LINE_WORDS = 15

_WORD = re.compile(r"\w+")
_SENTENCE_END = (".", "!", "?", '"', "”", "’", "'", "»", "…", ":", ";")
_STAMP_LINE = re.compile(r"^\W*(?:last\s+)?(?:updated|modified|published|posted)\b", re.IGNORECASE)
_VOLATILE = (
    # clock times, with optional am/pm and zone: "10:32", "10:32 a.m. GMT", "22:05:11 CET"
    re.compile(
        r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?(?:\s*(?:gmt|utc|[a-z]{1,3}t)\b)?",
        re.IGNORECASE,
    ),
    # counters: "1,204 comments", "3.2k views", "Comments (12)"
    re.compile(
        r"\b\d[\d,.]*\s*[km]?\s*(?:comments?|views?|shares?|likes?|reads?|reactions?|replies)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:comments?|views?|shares?|likes?|replies)\s*[(:]?\s*\d[\d,.]*\)?", re.IGNORECASE
    ),
    # relative times: "5 minutes ago", "2 hrs ago"
    re.compile(
        r"\b\d+\s*(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|h|days?|weeks?|months?)\s+ago\b",
        re.IGNORECASE,
    ),
)
_SIG_DTYPE = np.dtype("<u4")
# MurmurHash3's 32-bit finalizer constants (datasketch's "affine32" pre-mix).
_FMIX_M1, _FMIX_M2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)
_EMPTY = np.uint32(0xFFFFFFFF)


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations ``h -> a*h + b mod 2**32`` (``a`` odd) of datasketch's MinHash
    with ``scheme="affine32"``, drawn exactly as it draws them, so stored signatures and band
    keys stay valid. datasketch itself is not imported at run time: its package imports
    SciPy and Redis (≈60 MB in every crawl process and extraction worker) for one class."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def minhash_values(items: Iterable[bytes], perms: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """datasketch's ``MinHash(scheme="affine32").update_batch(items).hashvalues``: SHA-1's
    first 4 bytes (little-endian) per item, the MurmurHash3 finalizer, then the minimum of each
    permutation (all ``2**32 - 1`` for no items)."""
    a, b = perms
    digests = b"".join([hashlib.sha1(item).digest()[:4] for item in items])
    if not digests:
        return np.full(len(a), _EMPTY, dtype=np.uint32)
    hv = np.frombuffer(digests, dtype="<u4").astype(np.uint32).reshape(-1, 1)
    with np.errstate(over="ignore"):
        hv = hv ^ (hv >> np.uint32(16))
        hv = hv * _FMIX_M1
        hv = hv ^ (hv >> np.uint32(13))
        hv = hv * _FMIX_M2
        hv = hv ^ (hv >> np.uint32(16))
        values: np.ndarray = (hv * a + b).min(axis=0)
    return values


_PERMUTATIONS = _permutations(NUM_PERM, SEED)

# Translation linking (anchor pairs). One MinHash value per band: translations score low
# (Jaccard 0.19-0.39 on the fixtures), so the candidate curve 1-(1-J)^24 must already be steep
# there (0.99 at J = 0.18); the exact score, not the band count, makes the decision.
ANCHOR_BANDS = 24
ANCHOR_SEED = 20261126
# Jaccard of anchor pairs from which a republication in another language is a translation.
TRANSLATION_THRESHOLD = 0.14  # ENTITY_THRESHOLD must not be below it
# Below this many distinct anchor pairs a text is too short or too name-poor to tell a
# translation from a summary: it takes no part in translation linking.
MIN_ANCHOR_PAIRS = 12
# A translation is published within this many days of its original.
TRANSLATION_WINDOW_DAYS = 3

# Entity anchors (extraction/entities.py): for scripts without letter case (Chinese, Japanese,
# Korean) and for German, whose capitalised nouns drown the names, translations are told by the
# companies, places, figures and model codes they name, in order. The features are the unordered
# pairs of entities at most ENTITY_WINDOW - 1 apart in that sequence: a translation may reorder
# the entities within a clause, an independent report of the same event names the same entities
# in another order and company. Their MinHash values are stored as anchor bands
# ENTITY_BAND_OFFSET + i, next to the word-anchor bands.
ENTITY_WINDOW = 3
ENTITY_LANGUAGES = frozenset({"zh", "ja", "ko", "de", "th"})
ENTITY_BANDS = 24
ENTITY_BAND_OFFSET = 100
ENTITY_SEED = 20261201
# Jaccard of entity pairs from which two articles in different languages are a translation
# (measured on tests/fixtures/events: an original and its translation 0.29-1.0, an independent
# report and a member of the copy group at most 0.24 where German, Chinese or Japanese is one
# side). Where both sides are in other languages, anchor pairs decide and this must hold too.
ENTITY_THRESHOLD = 0.27
MIN_ENTITY_PAIRS = 6
_SECTION_SEP = "\n"  # word runs, then entity paragraphs, in one stored anchor text

# numbers with thousands groups ("3,200", "3.200", "3 200") or decimals ("3.5", "3,5"), words,
# sentence ends (a quotation mark or a line break also starts a sentence), any other symbol
_ANCHOR_TOKEN = re.compile(
    r"(?P<grouped>(?<![\d.,])\d{1,3}(?:[.,\u00a0\u202f ]\d{3})+(?![\d]|[.,]\d))"
    r"|(?P<num>\d+(?:[.,]\d+)?)"
    r"|(?P<word>[^\W\d_]\w*)"
    r"|(?P<end>[.!?\u2026:;]+(?=\s|$)|\n|[\"\u201c\u201d\u00ab\u00bb\u201e])"
    r"|(?P<other>\S)"
)
_ANCHOR_PERMUTATIONS = _permutations(ANCHOR_BANDS, ANCHOR_SEED)
_ENTITY_PERMUTATIONS = _permutations(ENTITY_BANDS, ENTITY_SEED)
_RUN_SEP = "|"


@dataclass(frozen=True, slots=True)
class Fingerprint:
    content_sha256: str  # sha256 hex of the normalised body text
    minhash: bytes  # serialised MinHash signature
    bands: tuple[tuple[int, int], ...]  # (band number, band key as signed 64-bit int) for LSH
    # anchor runs (see anchor_text); empty when the text has too few anchor pairs
    anchors: str = ""
    # (band number, MinHash value of the anchor pairs) for translation candidates
    anchor_bands: tuple[tuple[int, int], ...] = ()


def tokens(body: str) -> list[str]:
    """Words, case-folded, with punctuation, markup spacing and Unicode variants gone.

    Two extractions of the same text from different templates differ in exactly these things
    (curly vs straight quotes, non-breaking spaces, line breaks), so they must not count.
    """
    return _WORD.findall(unicodedata.normalize("NFKC", body).casefold())


def normalise_text(body: str) -> str:
    return " ".join(tokens(body))


def content_sha256(body: str) -> str:
    return hashlib.sha256(normalise_text(body).encode("utf-8")).hexdigest()


def shingles(words: list[str], size: int = SHINGLE_WORDS) -> set[str]:
    """Overlapping word n-grams; a text shorter than ``size`` is one shingle (or none)."""
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def signature(words: list[str], size: int = SHINGLE_WORDS) -> bytes:
    values = minhash_values((s.encode("utf-8") for s in shingles(words, size)), _PERMUTATIONS)
    return values.astype(_SIG_DTYPE).tobytes()


def band_keys(minhash: bytes) -> tuple[tuple[int, int], ...]:
    """Split a signature into ``BANDS`` bands of ``ROWS`` values and hash each to a BIGINT.

    Two articles sharing any (band, key) pair are LSH candidates; the archive finds them with
    one indexed lookup per band instead of a scan.
    """
    values = np.frombuffer(minhash, dtype=_SIG_DTYPE)
    if len(values) != NUM_PERM:
        raise ValueError(f"signature has {len(values)} values, expected {NUM_PERM}")
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(chunk, digest_size=8).digest()
        keys.append((band, int.from_bytes(digest, "little", signed=True)))
    return tuple(keys)


def fingerprint(body: str, *, body_entities: list[Entity] | None = None) -> Fingerprint:
    """The fingerprint of an article body. ``body_entities`` are ``entities(body)`` when the
    caller has them (:func:`~newsarchive.extraction.entities.article_entities`)."""
    words = tokens(body)
    sha = hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()
    sig = signature(words)
    bands = band_keys(sig) if len(words) >= MIN_NEAR_WORDS else ()
    runs = anchor_runs(body)
    pairs = anchor_pairs(runs)
    sequence = entity_sequence(body, body_entities)
    e_pairs = entity_pairs(sequence)
    has_words, has_entities = len(pairs) >= MIN_ANCHOR_PAIRS, len(e_pairs) >= MIN_ENTITY_PAIRS
    if not (has_words or has_entities):
        return Fingerprint(content_sha256=sha, minhash=sig, bands=bands)
    text = anchor_text(runs) if has_words else ""
    keys = anchor_band_keys(pairs) if has_words else ()
    if has_entities:
        text += _SECTION_SEP + " ".join(sequence)
        keys += entity_band_keys(e_pairs)
    return Fingerprint(
        content_sha256=sha, minhash=sig, bands=bands, anchors=text, anchor_bands=keys
    )


def _fold(word: str) -> str:
    """Case and accents gone, so "Győr" in one text matches "Gyor" in another."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def anchor_runs(body: str) -> list[list[str]]:
    """The language-independent landmarks of a text, in order, grouped into runs.

    Anchors are numbers (thousands separators dropped, decimal commas made points, so
    "3,200", "3.200" and "3 200" agree, as do "3.5" and "3,5"), acronyms, and capitalised
    words not at a sentence start (a sentence-initial word counts when the text also
    capitalises it elsewhere). Words and numbers are case-folded and stripped of accents.
    A run is a stretch of anchors with nothing but spaces between them ("Luca", "Meo" are two
    runs: "de" separates them; "Hallam Brothers" is one). This needs a script with letter
    case; texts in scripts without it keep only their numbers and Latin-script names.
    """
    text = unicodedata.normalize("NFKC", body)
    found: list[tuple[str, bool, int]] = []  # (anchor, sentence-initial, run number)
    run = 0
    at_start = True
    for m in _ANCHOR_TOKEN.finditer(text):
        kind, value = m.lastgroup, m.group()
        if kind == "end":
            at_start, run = True, run + 1
            continue
        if kind == "other":
            run += 1
            continue
        if kind == "grouped":
            found.append(("#" + re.sub(r"\D", "", value), False, run))
        elif kind == "num":
            found.append(("#" + value.replace(",", "."), False, run))
        elif value[0].isupper():
            acronym = len(value) > 1 and value.isupper()
            found.append((_fold(value), at_start and not acronym, run))
        else:
            run += 1
        at_start = False
    elsewhere = {a for a, initial, _ in found if not initial}
    runs: list[list[str]] = []
    last_run = -1
    for anchor, initial, number in found:
        if initial and anchor not in elsewhere:
            continue
        if number == last_run:
            runs[-1].append(anchor)
        else:
            runs.append([anchor])
        last_run = number
    return runs


def anchor_pairs(runs: list[list[str]]) -> set[str]:
    """Consecutive anchors across run boundaries: the order a text mentions things in.

    Pairs inside one run ("new york", "york state") only restate a name; two independent
    articles that both use a long name would share them, so they do not count.
    """
    return {f"{a[-1]} {b[0]}" for a, b in itertools.pairwise(runs)}


def anchor_text(runs: list[list[str]]) -> str:
    """Runs serialised for storage: anchors joined by spaces, runs by ``|``."""
    return _RUN_SEP.join(" ".join(r) for r in runs)


def parse_anchor_text(text: str) -> list[list[str]]:
    """The word-anchor runs of a stored anchor text."""
    words = text.split(_SECTION_SEP, 1)[0]
    return [r.split(" ") for r in words.split(_RUN_SEP)] if words else []


def parse_entity_text(text: str) -> list[str]:
    """The entity sequence of a stored anchor text (empty for texts stored before it)."""
    _, sep, entities = text.partition(_SECTION_SEP)
    return entities.split(" ") if sep and entities else []


def entity_sequence(body: str, found: list[Entity] | None = None) -> list[str]:
    """Entity tokens of the text in order, a repeat of the previous one dropped (``found``:
    ``entities(body)``, if already known)."""
    tokens = [entity_token(e) for e in (entities(body) if found is None else found)]
    return [t for i, t in enumerate(tokens) if i == 0 or t != tokens[i - 1]]


def entity_pairs(sequence: list[str]) -> set[str]:
    """Unordered pairs of distinct entities less than ``ENTITY_WINDOW`` apart."""
    pairs = set()
    for i, a in enumerate(sequence):
        for b in sequence[i + 1 : i + ENTITY_WINDOW]:
            if a != b:
                pairs.add(f"{min(a, b)} {max(a, b)}")
    return pairs


def entity_band_keys(pairs: set[str]) -> tuple[tuple[int, int], ...]:
    values = minhash_values((p.encode("utf-8") for p in pairs), _ENTITY_PERMUTATIONS)
    return tuple((ENTITY_BAND_OFFSET + band, int(v)) for band, v in enumerate(values))


def entity_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the entity pairs of two stored anchor texts."""
    pa, pb = entity_pairs(parse_entity_text(a)), entity_pairs(parse_entity_text(b))
    if not pa or not pb:
        return 0.0
    return len(pa & pb) / len(pa | pb)


def translation_score(a: str, b: str, lang_a: str | None, lang_b: str | None) -> float:
    """How surely stored anchor texts ``a`` and ``b`` (languages ``lang_a``/``lang_b``, which
    differ) are a translation pair: the anchor-pair Jaccard, or where either language is one
    whose capitalised words are no names (``ENTITY_LANGUAGES``) the entity-pair Jaccard, which
    counts only from ``ENTITY_THRESHOLD`` (0.0 below it); an anchor-pair score counts only if
    the entity pairs, where both texts have them, reach ``ENTITY_THRESHOLD`` too. Compared with
    ``TRANSLATION_THRESHOLD``."""
    languages = {primary_language(lang_a), primary_language(lang_b)}
    entity = entity_similarity(a, b)
    if languages & ENTITY_LANGUAGES:
        return entity if entity >= ENTITY_THRESHOLD else 0.0
    if parse_entity_text(a) and parse_entity_text(b) and entity < ENTITY_THRESHOLD:
        # an independent report shares many names with the original (and so anchor pairs),
        # but names its figures and places in another order and company
        return 0.0
    return anchor_similarity(a, b)


def anchor_band_keys(pairs: set[str]) -> tuple[tuple[int, int], ...]:
    values = minhash_values((p.encode("utf-8") for p in pairs), _ANCHOR_PERMUTATIONS)
    return tuple((band, int(value)) for band, value in enumerate(values))


def anchor_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the anchor pairs of two stored anchor texts."""
    pa, pb = anchor_pairs(parse_anchor_text(a)), anchor_pairs(parse_anchor_text(b))
    if not pa or not pb:
        return 0.0
    return len(pa & pb) / len(pa | pb)


def primary_language(lang: str | None) -> str | None:
    """ "en" for "en-GB", "EN_us" or "en"; None when unknown."""
    if not lang:
        return None
    return re.split(r"[-_]", lang.strip().casefold(), maxsplit=1)[0] or None


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity: the share of MinHash positions where the signatures agree."""
    if len(a) != len(b):
        raise ValueError(f"signatures of different lengths ({len(a)} and {len(b)} bytes)")
    va = np.frombuffer(a, dtype=_SIG_DTYPE)
    vb = np.frombuffer(b, dtype=_SIG_DTYPE)
    if not len(va):
        return 0.0
    return float(np.count_nonzero(va == vb)) / len(va)


def revision_text(body: str) -> str:
    """The part of a body that makes a new revision when it changes.

    Refetching a live article page returns the same story with a new "Updated 10:32" stamp,
    new comment/view counters or a rotated "Related:" link list; storing each as a revision
    would bury the real edits. Dropped: short lines without sentence-final punctuation (links,
    teasers, counters, subheads) and short "Updated/Published …" stamp lines. Masked: clock
    times, counters and relative times. Every other change, a single corrected figure
    included, is a revision.
    """
    kept = []
    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            continue
        n_words = len(tokens(line))
        if n_words <= SHORT_LINE_WORDS and (
            not line.endswith(_SENTENCE_END) or _STAMP_LINE.match(line)
        ):
            continue
        for pattern in _VOLATILE:
            line = pattern.sub(" ", line)
        kept.append(normalise_text(line))
    return "\n".join(k for k in kept if k)


def is_trivial_change(old_body: str, new_body: str) -> bool:
    return revision_text(old_body) == revision_text(new_body)
