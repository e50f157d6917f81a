"""A small cache of answers, valid while the archive is unchanged.

Analysts repeat searches (the back button, paging, the per-source toggle, a shared link), and a
search page over a large archive costs tens to hundreds of milliseconds. Answers are kept by
(kind, parameters) in a bounded LRU, each with the archive fingerprint it was computed at
(``facetindex.archive_version``: three index lookups, read once per request); a crawl that
stores anything changes the fingerprint, so nothing stale is ever served.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

logger = logging.getLogger(__name__)

T = TypeVar("T")


class AnswerCache:
    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[tuple[int, int, int], Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def answer(self, version: tuple[int, int, int], key: Hashable, compute: Callable[[], T]) -> T:
        """The answer for ``key`` computed at archive ``version``, else ``compute()``'s."""
        if self.size <= 0:
            return compute()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version:
                self._entries.move_to_end(key)
                self.hits += 1
                # entries are stored by this method only, from compute() for the same key
                return cast("T", entry[1])
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value
