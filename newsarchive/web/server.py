"""Serving the application with uvicorn on a socket bound up front.

The socket is bound before uvicorn starts, so a taken port is a one-line ``ConfigError`` (not a
traceback from inside the server) and port 0 gives a free port the caller can read. ``serve()``
runs in the foreground until SIGINT/SIGTERM; ``start()``/``stop()`` run it in a thread (tests).

Several worker processes (``workers``): page rendering, JSON encoding and the search checker are
Python and hold the GIL, so one process uses about one core however many requests it has open.
``serve()`` then forks the workers after the socket is bound and the facet index is built, so
they share the listening socket (the kernel hands each connection to one of them) and the
index's pages until the archive changes; each worker opens its own database connections (the
archive is read-only, so processes need no coordination), and the parent only forwards
SIGINT/SIGTERM and replaces a worker that died. Forking needs a POSIX system; elsewhere one
process serves. ``newsarchive serve`` starts one worker per CPU (at most 4): on an idle 2-core
machine two workers nearly halved the p50 of new searches under 8 clients (186 → 101 ms),
while repeated ones, whose answer cache each worker keeps apart, stayed well under 100 ms
(docs/benchmarks.md, "Web app latency").
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Self

import uvicorn

from newsarchive.errors import ArchiveError, ConfigError
from newsarchive.web.app import CACHE_SIZE, LOCAL_HOSTS, REQUEST_TIME_LIMIT, create_app

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import FrameType, TracebackType

    from newsarchive.archive import Archive

logger = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS = 5
WILDCARDS = ("0.0.0.0", "::", "")
RESPAWN_DELAY_SECONDS = 1.0  # before replacing a dead worker, so a crash at start cannot spin


def allowed_hosts(host: str, extra: Iterable[str] = ()) -> list[str]:
    """Loopback names, the bound address unless it is a wildcard, and ``extra``."""
    names = [*LOCAL_HOSTS]
    if host not in WILDCARDS:
        names.append(host)
    return [*dict.fromkeys([*names, *extra])]


def _stopped(signum: int, frame: FrameType | None) -> None:
    """SIGTERM after uvicorn has shut down: nothing left to do."""


# Each worker holds its own facet index and answer cache; the cap bounds that memory on a big
# machine (only 1 and 2 workers were measured: docs/benchmarks.md, "Web app latency").
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """One worker per CPU this process may run on, at most ``MAX_DEFAULT_WORKERS``."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_DEFAULT_WORKERS, cpus or 1))


class WebServer:
    def __init__(
        self,
        archive: Archive,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        extra_hosts: Iterable[str] = (),
        time_limit: float = REQUEST_TIME_LIMIT,
        cache_size: int = CACHE_SIZE,
        facet_index: bool = True,
        workers: int = 1,
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
            self.socket.listen(128)
        except OSError as exc:
            self.socket.close()
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        self.host = host
        self.port: int = self.socket.getsockname()[1]
        self.app = create_app(
            archive,
            allowed_hosts=allowed_hosts(host, extra_hosts),
            time_limit_seconds=time_limit,
            cache_size=cache_size,
            facet_index=facet_index,
        )
        self.workers = max(1, workers) if hasattr(os, "fork") else 1
        if facet_index:
            self._build_facet_index()
        config = uvicorn.Config(
            self.app,
            log_config=None,
            lifespan="off",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            server_header=False,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def _build_facet_index(self) -> None:
        """Build the facet index before serving (so the first searches count on it, and forked
        workers share it); a failure only leaves the counts to SQL until a rebuild works."""
        try:
            self.app.state.facet_indexes.build()
        except ArchiveError as exc:
            logger.warning("facet index not built, counting in SQL: %s", exc)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve(self) -> None:
        """Serve until SIGINT/SIGTERM, then return normally (exit code 0 for the CLI); with
        several workers, in forked processes (see the module docstring)."""
        if self.workers > 1:
            self._serve_forked()
        else:
            self._serve_here()

    def _serve_here(self) -> None:
        """uvicorn handles both signals in the main thread, shuts down gracefully, then
        re-raises the signal with the previous handler: for SIGINT that is a KeyboardInterrupt
        (caught here); for SIGTERM we put a no-op handler in place, so the default (kill) never
        runs."""
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _stopped) if main else None
        try:
            self.server.run(sockets=[self.socket])
        except KeyboardInterrupt:
            pass
        finally:
            self.socket.close()
            if main:
                signal.signal(signal.SIGTERM, previous)
        logger.info("web server stopped")

    def _serve_forked(self) -> None:
        children: set[int] = set()
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True
            for pid in list(children):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    children.discard(pid)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            children.update(self._fork_worker() for _ in range(self.workers))
            logger.info("web server: %d worker processes", len(children))
            while children:
                try:
                    pid, status = os.wait()
                except ChildProcessError:
                    break
                children.discard(pid)
                if not stopping:
                    logger.warning(
                        "web worker %d exited (status %d); starting another", pid, status
                    )
                    time.sleep(RESPAWN_DELAY_SECONDS)
                    if not stopping:
                        children.add(self._fork_worker())
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.socket.close()
        logger.info("web server stopped")

    def _fork_worker(self) -> int:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # a child must not write the parent's buffered output again
        pid = os.fork()
        if pid:
            return pid
        code = 1
        try:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            # the parent's pooled connections are not this process's to use or to close
            self.app.state.archive.engine.dispose(close=False)
            self._serve_here()
            code = 0
        except Exception:
            # the process boundary: nothing above this frame would report it
            logger.exception("web worker failed")
        finally:
            os._exit(code)

    def start(self) -> Self:
        self._thread = threading.Thread(target=self.serve, name="newsarchive-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                raise ConfigError("the web server did not start within 10 s")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
