"""One way to wait in a test: poll a condition until it holds, with a deadline and a reason."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable


def wait_until(
    check: Callable[[], object],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
    alive: subprocess.Popen[str] | subprocess.Popen[bytes] | None = None,
) -> None:
    """Return once ``check()`` is true; fail after ``timeout`` seconds, naming ``what``.

    With ``alive``, also fail as soon as that process has exited: what it should have done
    can no longer happen.
    """
    deadline = time.monotonic() + timeout
    while not check():
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"process exited (code {alive.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
