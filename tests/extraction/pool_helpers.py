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
