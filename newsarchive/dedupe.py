"""Content fingerprints for duplicate and revision detection.

Pure functions (no SQL, no I/O) so the pipelines can compute a fingerprint in the extraction
process pool and the archive only does lookups. Parameters are chosen and measured in
``docs/dedupe.md``; changing any of them (shingle size, permutations, bands, seed, MinHash
scheme) changes every stored signature and band key, so the archive's ``article_signatures``
and ``lsh_bands`` would have to be recomputed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash

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
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations
_SIG_DTYPE = np.dtype("<u4")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    content_sha256: str  # sha256 hex of the normalised body text
    minhash: bytes  # serialised MinHash signature
    bands: tuple[tuple[int, int], ...]  # (band number, band key as signed 64-bit int) for LSH


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
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_PERMUTATIONS, scheme=SCHEME)
    mh.update_batch(s.encode("utf-8") for s in shingles(words, size))
    return np.asarray(mh.hashvalues, dtype=_SIG_DTYPE).tobytes()


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


def fingerprint(body: str) -> Fingerprint:
    words = tokens(body)
    sha = hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()
    sig = signature(words)
    bands = band_keys(sig) if len(words) >= MIN_NEAR_WORDS else ()
    return Fingerprint(content_sha256=sha, minhash=sig, bands=bands)


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
