from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsarchive.errors import ExtractionError
from newsarchive.extraction.pool import ExtractorPool

sys.path.insert(0, str(Path(__file__).parent))
import pool_helpers

FETCHED = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
PAGE = (
    b"<html lang='en'><head><title>Tesla cuts prices again | Motor Daily</title>"
    b"<meta property='og:site_name' content='Motor Daily'></head><body><article>"
    b"<h1>Tesla cuts prices again</h1><p>"
    + b"Tesla lowered the price of the Model 3 in Europe on Thursday, the third cut this year. " * 8
    + b"</p><p>"
    + b"Analysts expect BYD and Volkswagen to respond within weeks as competition sharpens. " * 6
    + b"</p></article></body></html>"
)


@pytest.fixture(scope="module")
def pool():
    with ExtractorPool(workers=1, timeout=2.0) as p:
        yield p


def test_extracts_in_worker(pool: ExtractorPool) -> None:
    article = asyncio.run(pool.extract(PAGE, "https://motor.example/tesla", FETCHED))
    assert article is not None
    assert article.title == "Tesla cuts prices again"
    assert article.companies == ["Tesla", "BYD", "Volkswagen"]


def test_crash_is_reported_and_pool_survives(pool: ExtractorPool) -> None:
    async def scenario() -> None:
        with pytest.raises(ExtractionError, match=r"^crashed: ValueError: boom$"):
            await pool.run(pool_helpers.explode, "boom")
        with pytest.raises(ExtractionError, match=r"^crashed: worker died"):
            await pool.run(pool_helpers.die)
        assert await pool.run(pool_helpers.double, 21) == 42
        assert await pool.extract(PAGE, "https://motor.example/a", FETCHED) is not None

    asyncio.run(scenario())


def test_hang_times_out_and_worker_is_replaced(pool: ExtractorPool) -> None:
    async def scenario() -> None:
        with pytest.raises(ExtractionError, match=r"^timeout after 2s$"):
            await pool.run(pool_helpers.hang)
        article = await pool.extract(PAGE, "https://motor.example/b", FETCHED)
        assert article is not None
        assert article.body.startswith("Tesla lowered the price")

    asyncio.run(scenario())


def test_concurrent_pages_from_one_loop() -> None:
    async def scenario(p: ExtractorPool) -> list[object]:
        jobs = [p.extract(PAGE, f"https://motor.example/{i}", FETCHED) for i in range(6)]
        jobs.append(p.run(pool_helpers.explode, "bad page"))
        return await asyncio.gather(*jobs, return_exceptions=True)

    with ExtractorPool(workers=2, timeout=10.0) as p:
        results = asyncio.run(scenario(p))
    assert [type(r).__name__ for r in results] == ["Article"] * 6 + ["ExtractionError"]


def test_in_process_mode() -> None:
    p = ExtractorPool(workers=0)
    article = asyncio.run(p.extract(PAGE, "https://motor.example/c", FETCHED))
    assert article is not None
    assert article.site_name == "Motor Daily"
    with pytest.raises(ExtractionError, match="crashed: ValueError: inline"):
        asyncio.run(p.run(pool_helpers.explode, "inline"))
    p.close()


def test_worker_is_replaced_after_max_tasks() -> None:
    """A worker's memory only grows with the pages it parsed: after ``max_tasks`` calls a
    fresh process takes its place, and the calls after it are answered as before."""

    async def pids(p: ExtractorPool) -> list[int]:
        return [await p.run(pool_helpers.worker_pid) for _ in range(7)]

    with ExtractorPool(workers=1, timeout=10.0, max_tasks=3) as p:
        seen = asyncio.run(pids(p))
        assert asyncio.run(p.extract(PAGE, "https://motor.example/c", FETCHED)) is not None
    assert seen[0] == seen[1] == seen[2]
    assert seen[3] == seen[4] == seen[5] != seen[2]
    assert seen[6] != seen[5]


def test_max_tasks_zero_keeps_the_worker() -> None:
    async def pids(p: ExtractorPool) -> set[int]:
        return {await p.run(pool_helpers.worker_pid) for _ in range(5)}

    with ExtractorPool(workers=1, timeout=10.0, max_tasks=0) as p:
        assert len(asyncio.run(pids(p))) == 1


# The ``newsarchive`` console script, as pip writes it, plus a pool started the way a crawl
# starts one; ``fixed`` runs what main() does first.
CONSOLE_SCRIPT = """
import asyncio
import sys
from newsarchive.cli import _spawn_without_main, main
from newsarchive.extraction.pool import ExtractorPool

sys.path.insert(0, {helpers!r})
import pool_helpers

if sys.argv[1] == "own-code":
    def helper() -> None:  # a program with code of its own: its children re-run it
        pass

if __name__ == "__main__":
    if sys.argv[1] in ("fixed", "own-code"):
        _spawn_without_main()
    with ExtractorPool(workers=1) as pool:
        print(asyncio.run(pool.run(pool_helpers.imported, "newsarchive.cli")))
"""


@pytest.mark.parametrize(
    ("mode", "imports_cli"), [("fixed", "False"), ("plain", "True"), ("own-code", "True")]
)
def test_workers_of_the_console_script_do_not_import_the_cli(
    tmp_path: Path, mode: str, imports_cli: str
) -> None:
    script = tmp_path / "newsarchive"
    script.write_text(CONSOLE_SCRIPT.format(helpers=str(Path(__file__).parent)))
    done = subprocess.run(
        [sys.executable, str(script), mode],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == imports_cli
