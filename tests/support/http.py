"""One HTTP GET for tests that talk to a real server on 127.0.0.1.

Error statuses come back as values, not exceptions, so a test asserts on a 404 or a 500 the same
way it asserts on a 200.
"""

from __future__ import annotations

import urllib.error
import urllib.request


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    """GET ``url``; the timeout bounds every request, so a hung server fails the test, not CI."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read(), dict(resp.headers.items())
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers.items())
