"""The shared queue's request format: JSON, never pickle.

scrapy-redis pickles requests by default, so anyone who can write to the Redis server can run
code on every worker that pops from it. ``SCHEDULER_SERIALIZER`` takes any module with ``loads``
and ``dumps``; this one writes Scrapy's request dict (``Request.to_dict``) as JSON, with the
few non-JSON values a request carries tagged: bytes (headers, body) as base64, datetimes (the
sitemap ``lastmod`` in meta) as ISO 8601, tuples as lists. Decoding builds plain data only;
the callback is a method name Scrapy looks up on the spider.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from newsarchive.discovery.urls import url_key

BYTES = "__bytes__"
DATETIME = "__datetime__"
# The request's URL key (``url_key``) next to it, so the queue's Lua pop can record the claim
# in the same atomic step without knowing our URL canonicalisation.
KEY = "_key"


def _default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):
        return {DATETIME: value.isoformat()}
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"cannot queue a {type(value).__name__} in a request")


def _hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if BYTES in obj and isinstance(obj[BYTES], str):
            return base64.b64decode(obj[BYTES])
        if DATETIME in obj and isinstance(obj[DATETIME], str):
            return datetime.fromisoformat(obj[DATETIME])
    return obj


def dumps(obj: Any) -> bytes:
    """A request dict as compact JSON (dict keys that are bytes, as in headers, become text)."""
    data = _text_keys(obj)
    if isinstance(data, dict) and isinstance(data.get("url"), str):
        data[KEY] = url_key(data["url"])
    return json.dumps(data, default=_default, separators=(",", ":")).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """The request dict back; raises ValueError on anything that is not our JSON."""
    obj = json.loads(data, object_hook=_hook)
    if isinstance(obj, dict):
        obj.pop(KEY, None)
    return obj


def _text_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            (k.decode("latin-1") if isinstance(k, bytes) else k): _text_keys(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_text_keys(v) for v in value]
    return value
