"""`newsarchive demo` as a newcomer runs it: serve, crawl, search; `--keep-serving` in the
background (no terminal) keeps the sites up until a signal."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import urllib.request
from typing import TYPE_CHECKING

from support.cli import start_cli

if TYPE_CHECKING:
    from pathlib import Path


def test_demo_crawls_searches_and_keeps_serving_until_a_signal(tmp_path: Path) -> None:
    proc = start_cli(
        "demo", "--db", str(tmp_path / "demo.db"), "--keep-serving",
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 180
    while not any("still running" in line for line in lines):
        assert proc.poll() is None, "".join(lines) + proc.stderr.read()  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        lines.append(proc.stdout.readline())
    output = "".join(lines)
    assert re.search(r"articles\s+21 new", output), output
    assert "Renault Group in talks with Xiaomi and Li Auto on EV technology" in output
    home = re.search(r"serving Auto Industry Daily\s+at (\S+)", output)
    assert home is not None
    time.sleep(1.5)  # the background demo is still serving: no key press ended it
    with urllib.request.urlopen(home.group(1), timeout=10) as response:
        assert response.status == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
