"""A small language guess for pages that declare none: script first, then stop words.

Good enough to pick dateparser languages and a search configuration; it is a fallback behind
``<html lang>``, ``og:locale`` and content-language, never a replacement for them.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

logger = logging.getLogger(__name__)

_STOPWORDS = {
    "en": "the and of to in is that for with on was are said from has have this by",
    "de": "der die das und ist nicht mit von den für auf dem des sich ein eine auch",
    "fr": "le la les et des est une pour dans que qui sur pas avec au du aux",
    "es": "el la los las y que del en por con para una es se al como más",
    "it": "il la che di è per una con non del della sono gli le nel alla",
    "pt": "o a os as que de do da em para com não uma por no na é mais",
    "nl": "de het een en van is dat op te niet met voor zijn die aan",
    "id": "yang dan di ini itu dengan untuk dari tidak dalam akan pada juga",
    "pl": "i w nie na się jest z do to że o jak po ale przez",
    "sv": "och att det som en är på för med av den till inte har",
    "tr": "ve bir bu da için ile de olarak çok daha gibi olan",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_SCRIPTS = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af]")),
    ("zh", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)


def guess_language(text: str | None) -> str | None:
    """ISO 639-1 guess, or None when the text is too short to say."""
    if not text:
        return None
    sample = text[:5000]
    for lang, script in _SCRIPTS:
        if len(script.findall(sample)) > len(sample) // 10:
            return lang
    words = [w.casefold() for w in _WORD.findall(sample)]
    if len(words) < 15:
        return None
    counts = Counter({lang: sum(1 for w in words if w in vocab) for lang, vocab in _WORDS.items()})
    lang, hits = counts.most_common(1)[0]
    return lang if hits >= max(3, len(words) // 30) else None
