"""Serving the application with uvicorn on a socket bound up front.

The socket is bound before uvicorn starts, so a taken port is a one-line ``ConfigError`` (not a
traceback from inside the server) and port 0 gives a free port the caller can read. ``serve()``
runs in the foreground until SIGINT/SIGTERM; ``start()``/``stop()`` run it in a thread (tests).
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from typing import TYPE_CHECKING, Self

import uvicorn

from newsarchive.errors import ConfigError
from newsarchive.web.app import CACHE_SIZE, LOCAL_HOSTS, REQUEST_TIME_LIMIT, create_app

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import FrameType, TracebackType

    from newsarchive.archive import Archive

logger = logging.getLogger(__name__)

KEEP_ALIVE_SECONDS = 5
WILDCARDS = ("0.0.0.0", "::", "")


def allowed_hosts(host: str, extra: Iterable[str] = ()) -> list[str]:
    """Loopback names, the bound address unless it is a wildcard, and ``extra``."""
    names = [*LOCAL_HOSTS]
    if host not in WILDCARDS:
        names.append(host)
    return [*dict.fromkeys([*names, *extra])]


def _stopped(signum: int, frame: FrameType | None) -> None:
    """SIGTERM after uvicorn has shut down: nothing left to do."""


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
        )
        config = uvicorn.Config(
            self.app,
            log_config=None,
            lifespan="off",
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            server_header=False,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def serve(self) -> None:
        """Serve until SIGINT/SIGTERM, then return normally (exit code 0 for the CLI).

        uvicorn handles both signals in the main thread, shuts down gracefully, then re-raises
        the signal with the previous handler: for SIGINT that is a KeyboardInterrupt (caught
        here); for SIGTERM we put a no-op handler in place, so the default (kill) never runs.
        """
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
