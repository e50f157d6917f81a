"""Run the ``newsarchive`` CLI with every HTML parser entry point counted, per process.

Used as ``python -P parse_counter.py crawl ...`` with ``NEWSARCHIVE_TEST_PARSE_LOG`` naming a
directory. The counting wrappers are installed at import, before anything imports a parser, so
they hold in the crawl process and — because the extraction pool spawns its workers by
re-importing this main module — in every worker too. Each parse of a whole document (not a
fragment such as ``<div/>``, nor trafilatura re-reading the text its readability fallback
produced: the same work bare trafilatura does) appends one line to ``<pid>.log``: whether the process is the crawl
(``main``) or a worker, the thread, and the entry point.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from pathlib import Path
from typing import Any

import lxml.etree
import lxml.html
import parsel.selector

LOG_DIR = Path(os.environ["NEWSARCHIVE_TEST_PARSE_LOG"])
# Smaller inputs are fragments built while extracting, not pages.
MIN_DOCUMENT_CHARS = 200
_state = threading.local()


def _is_html_parser(parser: Any) -> bool:
    return isinstance(parser, lxml.etree.HTMLParser)


def _record(entry: str) -> None:
    role = "main" if multiprocessing.parent_process() is None else "worker"
    thread = threading.current_thread().name
    with (LOG_DIR / f"{os.getpid()}.log").open("a", encoding="utf-8") as log:
        log.write(f"{role}\t{thread}\t{entry}\n")


def _wrap(module: Any, name: str, is_html: Any) -> None:
    original = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        outer = not getattr(_state, "inside", False)
        if outer and is_html(args, kwargs):
            source = args[0] if args else kwargs.get("text", kwargs.get("body", ""))
            if source is not None and len(source) >= MIN_DOCUMENT_CHARS:
                _record(f"{module.__name__}.{name}")
        _state.inside = True
        try:
            return original(*args, **kwargs)
        finally:
            if outer:
                _state.inside = False

    setattr(module, name, counted)


def _always(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return True


def _with_html_parser(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    parser = kwargs.get("parser", args[1] if len(args) > 1 else None)
    return _is_html_parser(parser)


def _parsel_html(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    parser_cls = kwargs.get("parser_cls", args[1] if len(args) > 1 else None)
    return isinstance(parser_cls, type) and issubclass(parser_cls, lxml.etree.HTMLParser)


for _name in ("document_fromstring", "fromstring", "fragment_fromstring", "parse"):
    _wrap(lxml.html, _name, _always)
_wrap(lxml.etree, "HTML", _always)
_wrap(lxml.etree, "fromstring", _with_html_parser)
_wrap(parsel.selector, "create_root_node", _parsel_html)


def _internal(module: Any, name: str) -> None:
    """Parses made inside ``module.name`` are part of its algorithm, not a parse of the page."""
    original = getattr(module, name)

    def inside(*args: Any, **kwargs: Any) -> Any:
        previous = getattr(_state, "inside", False)
        _state.inside = True
        try:
            return original(*args, **kwargs)
        finally:
            _state.inside = previous

    setattr(module, name, inside)


import trafilatura.external  # after the parsers are wrapped

_internal(trafilatura.external, "try_readability")


if __name__ == "__main__":
    from newsarchive.cli import main

    sys.argv = ["newsarchive", *sys.argv[1:]]
    sys.exit(main())
