"""Run extraction in worker processes, awaitable from the crawler's asyncio loop.

Extraction is CPU work: run inline in a pipeline it would stall every download of the reactor.
pebble's ProcessPool kills a worker whose task overruns its timeout and replaces it, and reports a
worker that died (segfault in lxml, OOM kill) as an error, so one poisoned page costs one
ExtractionError and the rest of the crawl goes on. ``workers=0`` runs in-process for debugging
(no timeout enforcement there: a hang hangs).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import TimeoutError as FutureTimeoutError
from typing import TYPE_CHECKING, Any, Self, TypeVar

from pebble import ProcessExpired, ProcessPool

from newsarchive.errors import ExtractionError
from newsarchive.extraction import extract as extract_article

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from newsarchive.items import Article

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Pages a worker parses before a fresh one replaces it. A worker's memory grows with the pages
# it has parsed (lxml and the allocator keep what the largest trees needed: from 60 MB warm to
# ~190 MB after a few hundred news pages, and on with rarer big pages; no library cache holds
# it, clearing them all gives back nothing), so without recycling a long crawl's workers only
# grow. A replacement costs its warm-up (~0.6 CPU-s: imports, the gazetteer), about 1 ms a
# page at this interval.
DEFAULT_MAX_TASKS = 500


def _warm_up() -> None:
    """Import the heavy modules once per worker, not on each worker's first page."""
    import dateparser  # noqa: F401
    import trafilatura  # noqa: F401

    from newsarchive.extraction.companies import load_gazetteer

    load_gazetteer()


def _ready() -> bool:
    return True


class ExtractorPool:
    """Runs extract() in worker processes (pebble.ProcessPool) sized to os.cpu_count(); each
    worker is replaced after ``max_tasks`` calls (0: never), which bounds its memory."""

    def __init__(
        self,
        workers: int | None = None,
        timeout: float = 30.0,
        max_tasks: int = DEFAULT_MAX_TASKS,
    ) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.timeout = timeout
        self._pool: ProcessPool | None = None
        if self.workers > 0:
            # spawn, not fork: the crawler process runs threads (Twisted's pool, DB drivers)
            self._pool = ProcessPool(
                max_workers=self.workers,
                max_tasks=max(0, max_tasks),  # 0: never replaced
                initializer=_warm_up,
                context=multiprocessing.get_context("spawn"),
            )

    def warm(self) -> None:
        """Start the workers now (they import trafilatura and load the gazetteer, seconds of
        work) instead of on the first page, which would then wait for them."""
        if self._pool is not None:
            self._pool.schedule(_ready)

    async def extract(
        self,
        html: bytes,
        url: str,
        fetched_at: datetime,
        *,
        encoding: str | None = None,
        lang_hint: str | None = None,
    ) -> Article | None:
        return await self.run(
            extract_article, html, url, fetched_at, encoding=encoding, lang_hint=lang_hint
        )

    async def run(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a picklable module-level ``func`` in a worker; errors become ExtractionError."""
        if self._pool is None:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                raise ExtractionError(f"crashed: {type(exc).__name__}: {exc}") from exc
        future = self._pool.schedule(func, args=args, kwargs=kwargs, timeout=self.timeout)
        try:
            result: T = await asyncio.wrap_future(future)
            return result
        except FutureTimeoutError as exc:
            raise ExtractionError(f"timeout after {self.timeout:g}s") from exc
        except ProcessExpired as exc:
            raise ExtractionError(f"crashed: worker died (exit code {exc.exitcode})") from exc
        except asyncio.CancelledError:
            future.cancel()  # pebble stops the worker running it
            raise
        except Exception as exc:
            raise ExtractionError(f"crashed: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join(timeout=self.timeout)
            self._pool.stop()
            self._pool = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
