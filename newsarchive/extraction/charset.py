"""Turn raw page bytes into text without mojibake, and recognise bytes that are not a web page.

Order of trust: a byte-order mark (it cannot lie about itself), then the HTTP header charset, then
the ``<meta charset>`` / ``http-equiv`` declaration in the first 4 KiB, then charset-normalizer's
detection. A declared charset is used only if the bytes decode strictly with it, because servers
routinely announce UTF-8 for windows-1252 pages and the reverse. Following the WHATWG encoding
standard, ``iso-8859-1``/``latin-1``/``ascii`` labels mean windows-1252 (the curly quotes and the
euro sign live in 0x80-0x9F).
"""

from __future__ import annotations

import codecs
import logging
import re

from charset_normalizer import from_bytes

logger = logging.getLogger(__name__)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WHATWG_ALIASES = {
    "iso-8859-1": "windows-1252",
    "iso8859-1": "windows-1252",
    "latin-1": "windows-1252",
    "latin1": "windows-1252",
    "l1": "windows-1252",
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
    "iso-8859-9": "windows-1254",
    "x-sjis": "shift_jis",
    "gb2312": "gb18030",
    "gbk": "gb18030",
}
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.+-]+)""", re.IGNORECASE
)
_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
_HTML_MARKER = re.compile(
    r"<\s*(?:!doctype\s+html|html|head|body|title|meta|p|div|article|main|h1|span)\b", re.IGNORECASE
)


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _WHATWG_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _try(data: bytes, codec: str | None) -> str | None:
    if codec is None:
        return None
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def decode_html(data: bytes | str, header_encoding: str | None = None) -> str | None:
    """Decode page bytes; None when they are not text that looks like HTML."""
    if isinstance(data, str):
        # only text handed over as str can hold lone surrogates; lxml drops the rest of a text
        # node at the first one, so they go before parsing
        text: str | None = _SURROGATES.sub("", data)
    else:
        text = _decode_bytes(data, header_encoding)
    if text is None:
        return None
    text = text.lstrip("\ufeff")
    return text if looks_like_html(text) else None


def _decode_bytes(data: bytes, header_encoding: str | None) -> str | None:
    if not data:
        return None
    for bom, bom_codec in _BOMS:
        if data.startswith(bom):
            return _try(data[len(bom) :], bom_codec)
    if data.count(b"\x00") > len(data) // 100:
        return None  # UTF-16 without BOM is vanishingly rare on the web; this is binary
    for codec in (_codec(header_encoding), _meta_codec(data)):
        text = _try(data, codec)
        if text is not None:
            return text
    if _try(data, "utf-8") is not None:
        return data.decode("utf-8")
    best = from_bytes(data[:200_000]).best()
    if best is not None and best.encoding:
        codec = _codec(best.encoding) or best.encoding
        text = _try(data, codec)
        if text is not None:
            return text
    return data.decode("windows-1252", errors="replace")


def _meta_codec(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    return _codec(match.group(1).decode("ascii", "ignore")) if match else None


def looks_like_html(text: str) -> bool:
    """Reject binary blobs, JSON, plain text: a page must have tags and mostly printable text."""
    head = text[:20_000]
    if not _HTML_MARKER.search(head):
        return False
    controls = len(_CONTROLS.findall(head))
    replacement = head.count("\ufffd")
    return controls + replacement < max(8, len(head) // 50)
