"""The SQL an engine sends, for tests that hold a query to which statements it takes."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import event

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Engine


@contextmanager
def statements_run(engine: Engine, containing: str = "") -> Iterator[list[str]]:
    """The statements ``engine`` sends while the block runs (those containing ``containing``),
    in order, in a list the block may read and clear as it goes."""
    seen: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if containing in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)
