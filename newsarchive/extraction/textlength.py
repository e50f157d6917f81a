"""How long a text is, per writing system: one rule for validation and for the article rule.

Chinese, Japanese and Thai put no spaces between words, so counting whitespace-separated
tokens makes a 2,000-character Japanese story "12 words long" and gets it dropped as a teaser.
Length is measured in *word equivalents*: words where words are separated by spaces, and
characters divided by :data:`CHARS_PER_WORD` for runs of unspaced scripts (a Chinese word is
about 1.5-2 characters; 2 keeps the thresholds conservative). Mixed texts add both.

:func:`latin_chars` is the character-length counterpart for rules written in characters of
spaced text (the article rule's paragraph and block sizes): an unspaced-script character
carries about as much as three characters of spaced text (a word of ~5 letters plus a space is
two CJK characters).
"""

from __future__ import annotations

import re

CHARS_PER_WORD = 2
LATIN_CHARS_PER_UNSPACED_CHAR = 3

# Han (incl. extensions A and compatibility), Hiragana, Katakana, Thai, Lao, Khmer, Myanmar.
_UNSPACED = (
    "\u0e00-\u0e7f"  # Thai
    "\u0e80-\u0eff"  # Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3000-\u303f"  # CJK punctuation (、。「」)
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff00-\uffef"  # full-width forms and half-width Katakana
)
_UNSPACED_CHAR = re.compile(f"[{_UNSPACED}]")
_UNSPACED_RUN = re.compile(f"[{_UNSPACED}]+")
_SCRIPTS = (
    ("han", re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")),
    ("kana", re.compile("[\u3040-\u30ff\uff66-\uff9f]")),
    ("thai", re.compile("[\u0e00-\u0e7f]")),
    ("hangul", re.compile("[\uac00-\ud7af\u1100-\u11ff]")),
    ("cyrillic", re.compile("[\u0400-\u04ff]")),
    ("arabic", re.compile("[\u0600-\u06ff\u0750-\u077f]")),
    ("greek", re.compile("[\u0370-\u03ff]")),
    ("devanagari", re.compile("[\u0900-\u097f]")),
    ("hebrew", re.compile("[\u0590-\u05ff]")),
    ("latin", re.compile("[A-Za-z\u00c0-\u024f]")),
)


def word_equivalents(text: str) -> int:
    """Words of spaced text plus unspaced-script characters / :data:`CHARS_PER_WORD`."""
    unspaced = len(_UNSPACED_CHAR.findall(text))
    spaced_words = len(_UNSPACED_RUN.sub(" ", text).split())
    return spaced_words + unspaced // CHARS_PER_WORD


def latin_chars(text: str) -> int:
    """``len(text)`` with each unspaced-script character counted as
    :data:`LATIN_CHARS_PER_UNSPACED_CHAR` characters."""
    return len(text) + (LATIN_CHARS_PER_UNSPACED_CHAR - 1) * len(_UNSPACED_CHAR.findall(text))


def script_of(text: str) -> str:
    """The dominant script of ``text``: ``cjk`` (Han and Kana together), ``thai``,
    ``hangul``, ``cyrillic``, ``arabic``, ``greek``, ``devanagari``, ``hebrew``, ``latin``,
    or ``unknown``."""
    counts = {name: len(pattern.findall(text)) for name, pattern in _SCRIPTS}
    counts["cjk"] = counts.pop("han") + counts.pop("kana")
    name, count = max(counts.items(), key=lambda kv: kv[1])
    return name if count else "unknown"
