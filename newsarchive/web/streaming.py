"""Streaming ``newsarchive export`` output to an HTTP client.

The export writers (``archive/export.py``) write to a blocking binary stream, row by row. Here
they run in a thread on their own session and write into a bounded queue; the response reads the
queue, so memory stays bounded (the queue holds at most ``QUEUE_CHUNKS`` chunks) and a slow
client slows the export down instead of filling memory. When the client goes away the writer's
next write raises ``BrokenPipeError``, which ends the export and frees its database cursor.
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import threading
from typing import IO, TYPE_CHECKING, cast

from starlette.concurrency import run_in_threadpool

from newsarchive.archive.export import write_export

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from typing_extensions import Buffer

    from newsarchive.archive import Archive
    from newsarchive.archive.search import SearchFilters

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
QUEUE_CHUNKS = 16
_END = b""


class _QueueWriter(io.RawIOBase):
    """A write-only stream that hands ``CHUNK``-sized pieces to a queue."""

    def __init__(self, chunks: queue.Queue[bytes], cancelled: threading.Event) -> None:
        super().__init__()
        self._chunks = chunks
        self._cancelled = cancelled
        self._buffer = bytearray()
        self._position = 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def write(self, data: Buffer, /) -> int:
        view = memoryview(data).cast("B")
        n = view.nbytes
        self._buffer += view
        self._position += n
        if len(self._buffer) >= CHUNK:
            self.drain()
        return n

    def drain(self) -> None:
        if self._buffer:
            self.put(bytes(self._buffer))
            self._buffer.clear()

    def put(self, chunk: bytes) -> None:
        while not self._cancelled.is_set():
            try:
                self._chunks.put(chunk, timeout=0.2)
                return
            except queue.Full:
                continue
        raise BrokenPipeError("the client went away")


def stream_export(
    archive: Archive, fmt: str, filters: SearchFilters, query: str | None
) -> AsyncIterator[bytes]:
    """The export's bytes as they are written; the query must already have been checked."""
    chunks: queue.Queue[bytes] = queue.Queue(maxsize=QUEUE_CHUNKS)
    cancelled = threading.Event()
    out = _QueueWriter(chunks, cancelled)

    def produce() -> None:
        try:
            with archive.session() as session:
                # a RawIOBase is a binary stream; typeshed's IO[bytes] is another nominal type
                rows = write_export(session, fmt, cast("IO[bytes]", out), filters, query)
            out.drain()
            logger.info("streamed an export of %d rows (%s)", rows, fmt)
        except BrokenPipeError:
            logger.info("export stopped: the client went away")
        except Exception:
            # a thread boundary: nothing above would see it; the truncated response shows it
            logger.exception("export failed")
        finally:
            with contextlib.suppress(BrokenPipeError):
                out.put(_END)

    thread = threading.Thread(target=produce, name="newsarchive-export", daemon=True)
    thread.start()

    async def body() -> AsyncIterator[bytes]:
        try:
            while True:
                chunk = await run_in_threadpool(chunks.get)
                if chunk == _END:
                    return
                yield chunk
        finally:
            cancelled.set()

    return body()
