"""What every database accepts: text without NUL or lone surrogates, URLs short enough to key.

SQLite stores all of these; PostgreSQL refuses a NUL in ``text``, ``\\u0000`` and lone
surrogates in ``jsonb``, and btree index rows over about 2,700 bytes (a long URL under the
unique index of ``articles.canonical_url`` or ``url_state.url``). Extraction cleans the text it
makes; this is the archive's own last line, for every value it writes, so one hostile page can
never make a write fail for a reason the page put there.
"""

from __future__ import annotations

from typing import Any

# Longest URL (in UTF-8 bytes) the archive keeps as a key. Browsers and Scrapy
# (URLLENGTH_LIMIT 2083) stop near here too; PostgreSQL's btree limit is ~2,700 bytes.
MAX_URL_BYTES = 2048
_SURROGATES = dict.fromkeys(range(55296, 57344), "�")


def clean_text(value: str) -> str:
    """``value`` without NUL characters, lone surrogates replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.translate(_SURROGATES)
    return value


def clean_value(value: Any) -> Any:
    """:func:`clean_text` through strings, lists and dicts (JSON columns); others unchanged."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_value(v) for k, v in value.items()}
    return value


def url_fits(url: str) -> bool:
    """Whether ``url`` can be a key (``url_state.url``, ``articles.canonical_url``)."""
    return len(url) <= MAX_URL_BYTES // 4 or len(url.encode("utf-8", "surrogatepass")) <= (
        MAX_URL_BYTES
    )


def cut(value: str | None, size: int) -> str | None:
    """``value`` cut to a column's ``size`` (None stays None)."""
    return value[:size] if value is not None else None
