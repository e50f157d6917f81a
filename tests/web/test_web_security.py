"""The server's rules, on both backends: Host allow-list, CSP and other headers on every kind of
response, read-only database access, many clients at once, and ``newsarchive serve`` itself."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import text
from support.cli import start_cli
from support.http import fetch
from support.waiting import wait_until
from support.web import serve_read_only, stop_serving

from newsarchive.archive import open_archive
from newsarchive.errors import ArchiveError

if TYPE_CHECKING:
    from collections.abc import Iterator


def test_a_foreign_host_header_is_refused(demo_server: str) -> None:
    port = urlsplit(demo_server).port
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example"):
        status, body, headers = fetch(demo_server + "/", headers={"Host": host})
        assert (status, body) == (400, b"Invalid Host header"), host
        assert "default-src 'none'" in headers["content-security-policy"]
        assert fetch(demo_server + "/api/search?q=renault", headers={"Host": host})[0] == 400
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "LOCALHOST"):
        assert fetch(demo_server + "/", headers={"Host": host})[0] == 200, host


def test_an_allowed_name_is_accepted(demo_archive: str) -> None:
    server = serve_read_only(demo_archive, extra_hosts=["archive.example"])
    try:
        base = server.url.rstrip("/")
        assert fetch(base + "/", headers={"Host": "archive.example:8080"})[0] == 200
        assert fetch(base + "/", headers={"Host": "other.example"})[0] == 400
    finally:
        stop_serving(server)


@pytest.mark.parametrize(
    "path",
    ["/", "/?q=Renault", "/article/1", "/companies", "/api/search?q=x", "/static/app.css",
     "/nope", "/?q=Renault%20OR", "/api/openapi.json"],
)  # fmt: skip
def test_every_response_carries_a_strict_csp(demo_server: str, path: str) -> None:
    _, body, headers = fetch(demo_server + path)
    csp = headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "script-src" not in csp  # no script at all: default-src 'none' forbids it
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    if headers["content-type"].startswith("text/html"):
        html = body.decode()
        assert "<script" not in html
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html.split("<main>")[0])
        assert " style=" not in html  # inline styles would need 'unsafe-inline'


def test_the_server_cannot_write_to_the_archive(demo_archive: str) -> None:
    with open_archive(demo_archive, read_only=True) as archive:
        with pytest.raises(ArchiveError, match=r"read-?only"), archive.session() as session:
            session.execute(text("DELETE FROM articles"))
        with archive.session() as session:
            assert session.scalar(text("SELECT count(*) FROM articles")) == 21


@pytest.fixture
def idle_connections(demo_server: str) -> Iterator[list[socket.socket]]:
    """One connection that never sends a byte, one stuck halfway through its headers."""
    address = urlsplit(demo_server)
    idle = socket.create_connection((address.hostname, address.port), timeout=5)
    partial = socket.create_connection((address.hostname, address.port), timeout=5)
    partial.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    try:
        yield [idle, partial]
    finally:
        idle.close()
        partial.close()


def test_idle_connections_do_not_block_other_clients(
    demo_server: str, idle_connections: list[socket.socket]
) -> None:
    started = time.monotonic()
    status, _, _ = fetch(demo_server + "/?q=Renault")
    assert status == 200
    assert time.monotonic() - started < 4


def test_twenty_parallel_requests_all_answer(
    demo_server: str, idle_connections: list[socket.socket]
) -> None:
    paths = [
        "/?" + urlencode({"q": q}) for q in ("Renault", "battery", "electric OR hydrogen", "Xiaomi")
    ] + ["/api/search?q=renault", "/api/facets", "/api/timeline?by_source=1", "/company/Renault"]
    urls = [demo_server + paths[i % len(paths)] for i in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda u: fetch(u)[0], urls))
    assert statuses == [200] * 20


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"  # exited, waiting for init to reap it


@pytest.mark.parametrize(
    ("stop", "workers"),
    [
        (signal.SIGINT, 1),
        (signal.SIGTERM, 1),
        (signal.SIGINT, 2),
        (signal.SIGTERM, 2),
        (signal.SIGTERM, None),  # the default: one worker per CPU, at most 4
    ],
)
def test_serve_command_serves_until_a_signal(
    demo_archive: str, stop: signal.Signals, workers: int | None
) -> None:
    from newsarchive.web.server import MAX_DEFAULT_WORKERS, default_workers

    option = ("--workers", str(workers)) if workers else ()
    workers = workers or default_workers()
    assert 1 <= workers <= MAX_DEFAULT_WORKERS == 4
    proc = start_cli(
        "serve", "--db", demo_archive, "--port", "0", *option,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"serving (http://127\.0\.0\.1:(\d+)/) \(Ctrl-C to stop\)\n", line)
        assert match, line + (proc.stderr.read() if proc.stderr else "")
        base = match.group(1)
        deadline = time.monotonic() + 20
        while True:
            try:
                status, body, _ = fetch(base + "api/search?q=Xiaomi")
                break
            except OSError:
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.1)
        assert status == 200
        assert b'"total": 2' in body
        workers_seen = _children(proc.pid)
        if Path("/proc").is_dir():
            # one process serves, or that many forked workers share the socket
            assert len(workers_seen) == (0 if workers == 1 else workers)
        with ThreadPoolExecutor(max_workers=10) as pool:
            urls = [base + f"api/facets?q=renault&page={i % 3 + 1}" for i in range(20)]
            assert list(pool.map(lambda u: fetch(u)[0], urls)) == [200] * 20
        proc.send_signal(stop)
        assert proc.wait(timeout=20) == 0
        wait_until(lambda: all(_gone(pid) for pid in workers_seen), 10, "the workers to exit")
        assert proc.stderr is not None
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
