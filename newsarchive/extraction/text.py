"""Clean every string extraction produces, so that any backend stores it as it is.

Pages carry bytes no database column should see: NUL and other C0/C1 control characters
(PostgreSQL refuses NUL in ``text`` and ``\\u0000`` in ``jsonb``), lone UTF-16 surrogates (from
``&#xD800;`` or broken JSON-LD escapes: not encodable as UTF-8 at all), and invisible zero-width
characters that make equal titles and names compare unequal. Metadata values (meta tags, JSON-LD)
also arrive with HTML entities escaped twice (``&amp;#8217;``, ``&ouml;``), which a reader never
saw. Caps keep one hostile page from producing a multi-megabyte title or a URL too long for a
btree index.

Zero-width joiner and non-joiner (U+200D, U+200C) are kept: Persian, Indic scripts and emoji
sequences need them.
"""

from __future__ import annotations

import html
import logging
import re

logger = logging.getLogger(__name__)

TITLE_MAX_CHARS = 500
URL_MAX_CHARS = 2000
NAME_MAX_CHARS = 200
META_MAX_CHARS = 2000

# C0 controls except \t \n \r, DEL, C1 controls, lone surrogates, zero-width junk:
# ZWSP, word joiner, invisible operators, BOM/ZWNBSP, soft hyphen, interlinear annotations.
_JUNK = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\u200b\u2060-\u2064\ufeff\u00ad\ufff9-\ufffb]"
)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def clean_text(value: str) -> str:
    """``value`` without control characters, lone surrogates and zero-width junk."""
    return _JUNK.sub("", value)


def clean_line(value: str | None, max_chars: int = META_MAX_CHARS) -> str | None:
    """A one-line metadata value: entities decoded, junk removed, spaces collapsed, capped.

    None when nothing readable is left. Entities are decoded at most twice (``&amp;ouml;`` is a
    CMS escaping ``&ouml;`` once more), then junk is removed, since an entity can spell a NUL.
    A title, a name or a tag is one line: tabs and newlines become spaces.
    """
    if not value:
        return None
    for _ in range(2):
        if "&" not in value or not _ENTITY.search(value):
            break
        value = html.unescape(value)
    # U+FFFD: what an entity for a NUL or a surrogate decodes to; in a one-line value it is noise
    value = " ".join(clean_text(value).replace("\ufffd", "").split())
    if len(value) > max_chars:
        value = value[:max_chars].rstrip()
    return value or None


def clean_url(value: str | None) -> str | None:
    """A URL fit to store: junk and whitespace removed; None when it is too long to be one."""
    if not value:
        return None
    value = "".join(clean_text(value).split())
    if not value or len(value) > URL_MAX_CHARS:
        return None
    return value
