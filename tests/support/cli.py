"""The installed ``newsarchive`` console script, run in a subprocess.

Crawls run in their own process because a Twisted reactor starts once per process; running the
console script (not ``python -m``) also tests the installed entry point.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

NEWSARCHIVE = str(Path(sys.executable).with_name("newsarchive"))


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: unbuffered, so a killed crawl has flushed its output."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **extra}


def run_cli(
    *args: str,
    timeout: float = 180,
    check: bool = False,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``newsarchive ARGS`` to completion; with ``check``, a non-zero exit fails the test."""
    proc = subprocess.run(
        [NEWSARCHIVE, *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
        env=env or cli_env(),
        cwd=cwd,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"newsarchive {args} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def start_cli(*args: str, cwd: Path | None = None, **streams: Any) -> subprocess.Popen[str]:
    """Start ``newsarchive ARGS`` without waiting; ``streams`` are Popen's stdin/stdout/stderr."""
    return subprocess.Popen(
        [NEWSARCHIVE, *args], text=True, errors="replace", env=cli_env(), cwd=cwd, **streams
    )
