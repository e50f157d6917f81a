"""Module-level functions the pool tests submit to worker processes (they must pickle by name)."""

from __future__ import annotations

import os
import time


def explode(message: str) -> None:
    raise ValueError(message)


def hang() -> None:
    while True:
        time.sleep(1)


def die() -> None:
    os._exit(3)


def double(value: int) -> int:
    return value * 2


def sabotaged_extract(html: bytes | str, url: str, *args: object, **kwargs: object) -> object:
    """The real extractor, except on pages that ask to hang it or to kill its process."""
    from newsarchive.extraction import extract

    raw = html if isinstance(html, bytes) else html.encode()
    if b"HANG-THE-EXTRACTOR" in raw:
        hang()
    if b"KILL-THE-EXTRACTOR" in raw:
        die()
    return extract(html, url, *args, **kwargs)  # type: ignore[arg-type]


def worker_pid() -> int:
    return os.getpid()


def imported(module: str) -> bool:
    import sys

    return module in sys.modules
