from __future__ import annotations

import logging

from newsarchive.cli import OneLineFormatter


def test_terminal_log_records_are_one_line_without_traceback() -> None:
    """Regression: --quiet cron runs mailed multi-line tracebacks from Scrapy's middlewares."""
    try:
        raise ConnectionRefusedError("Connection refused\nsecond line")
    except ConnectionRefusedError:
        record = logging.getLogger("t").makeRecord(
            "t", logging.ERROR, __file__, 1, "Error downloading %s", ("http://x/",), exc_info=True
        )
        import sys

        record.exc_info = sys.exc_info()
    text = OneLineFormatter("%(levelname)s %(message)s").format(record)
    assert text == "ERROR Error downloading http://x/ (ConnectionRefusedError: Connection refused)"
