"""Huge pages and compression bombs: stopped by size limits, with the crawl's memory bounded.

The three bombs are served by three sites of one crawl; the 10 MiB page gets a crawl of its own,
so that each peak is the fault's own. The peak resident memory of the crawl's whole process tree
(crawl + extraction workers) is printed (``pytest -s``); docs/robustness.md records the values.
"""

from __future__ import annotations

import struct
import zlib
from functools import cache
from typing import TYPE_CHECKING

import brotli
import pytest

from newsarchive.demo.server import Response

from .harness import (
    Crawled,
    MiB,
    article_html,
    crawl_sites,
    good_site,
    html,
    listing_html,
    log_mentions,
    query,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .harness import CrawlResult, Seeded

pytestmark = pytest.mark.slow

BOMB_MIB = 1100  # expands to over 1 GiB
CHUNK = bytes(MiB)
BOMB = "/news/2026/11/bomb-story.html"
BIG = "/news/2026/11/huge-story.html"
# Crawl + extraction pool, measured at ≈ 250–450 MiB on an idle run; a bomb that was inflated
# in memory would add over 1 GiB.
RSS_LIMIT = 800 * MiB


def _deflate_parts() -> tuple[bytes, bytes]:
    """One MiB of zeros as a self-contained deflate block (after a full flush deflate restarts
    with an empty window, so every further MiB compresses to the same bytes), and the tail."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(CHUNK) + comp.flush(zlib.Z_FULL_FLUSH)
    return block, comp.flush(zlib.Z_FINISH)


@cache
def deflate_bomb(wrapper: str, mib: int = BOMB_MIB) -> bytes:
    """A gzip or zlib stream of ``mib`` MiB of zeros, built from one repeated block in ~1 s."""
    block, tail = _deflate_parts()
    crc, adler = 0, 1
    for _ in range(mib):
        crc = zlib.crc32(CHUNK, crc)
        adler = zlib.adler32(CHUNK, adler)
    body = block * mib + tail
    if wrapper == "gzip":
        header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
        return header + body + struct.pack("<II", crc, (mib * MiB) & 0xFFFFFFFF)
    return b"\x78\xda" + body + struct.pack(">I", adler)


@cache
def brotli_bomb() -> bytes:
    comp = brotli.Compressor(quality=5)
    parts = [comp.process(CHUNK) for _ in range(BOMB_MIB)]
    parts.append(comp.finish())
    return b"".join(parts)


def test_repeated_deflate_blocks_form_a_valid_stream() -> None:
    """Guards the bomb generator on a small size: a bomb that did not expand (or was corrupt
    after its first block) would make the bomb tests below pass for the wrong reason."""
    for wrapper, wbits in (("gzip", 31), ("deflate", 15)):
        data = deflate_bomb(wrapper, 3)
        assert zlib.decompress(data, wbits) == bytes(3 * MiB)
    block, _tail = _deflate_parts()
    assert len(deflate_bomb("gzip")) < 2 * MiB
    assert len(deflate_bomb("gzip")) > BOMB_MIB * len(block)


def report(name: str, result: CrawlResult) -> None:
    print(
        f"\n[{name}] peak RSS: process tree {result.peak_rss / MiB:.0f} MiB, "
        f"largest process {result.peak_rss_single / MiB:.0f} MiB, {result.seconds:.1f} s"
    )


ENCODINGS = ("gzip", "deflate", "br")


@pytest.fixture(scope="module")
def bombs(module_seeded: Seeded) -> Iterator[Crawled]:
    sites: dict[str, dict[str, Response]] = {}
    for encoding in ENCODINGS:
        data = brotli_bomb() if encoding == "br" else deflate_bomb(encoding)
        headers = {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": encoding}
        sites[encoding] = {"/": html(listing_html([BOMB])), BOMB: Response(200, data, headers)}
    sites["good"] = good_site("bombs")  # type: ignore[assignment]
    with crawl_sites(sites, module_seeded, timeout=120) as crawled:  # type: ignore[arg-type]
        report("gzip + deflate + br bombs", crawled.result)
        yield crawled


def test_bomb_crawl_completes_within_memory(bombs: Crawled) -> None:
    result = bombs.result
    assert result.peak_rss < RSS_LIMIT, f"peak RSS {result.peak_rss / MiB:.0f} MiB"
    assert result.summary is not None
    assert result.summary["finish_reason"] == "finished"
    assert len(bombs.stored("bombs-fresh")) == 2, "the healthy site is still archived"
    bombs.seeded.untouched()


def test_stopped_bombs_are_counted_in_stats(bombs: Crawled) -> None:
    assert bombs.result.stat("newsarchive/fetch_failed") == len(ENCODINGS)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_compression_bomb_is_stopped_by_size_limit(bombs: Crawled, encoding: str) -> None:
    url = bombs.web.url(encoding, BOMB)
    assert bombs.web.hits_for(encoding, BOMB), "the bomb was requested"
    assert log_mentions(bombs.result.log, url, "exceeded DOWNLOAD_MAXSIZE")
    assert not bombs.stored(url)


def test_ten_mib_page_is_handled_within_memory(seeded: Seeded) -> None:
    filler = "".join(
        f'<div class="related"><a href="/tag/t{i}">Related item {i}</a></div>\n'
        for i in range(160_000)
    )
    page = article_html("A very heavy page about gearbox plants", 31, extra_body=filler)
    assert len(page.encode()) > 10 * MiB
    sites = {"hostile": {"/": html(listing_html([BIG])), BIG: html(page)}, "good": good_site("big")}
    # The extraction timeout is cut from 30 s to keep the suite fast; memory is the point.
    fast = {"NEWSARCHIVE_EXTRACT_TIMEOUT": 8}
    with crawl_sites(sites, seeded, settings=fast, timeout=120) as crawled:
        web, result = crawled.web, crawled.result
        big_url = web.url("hostile", BIG)
    report("10 MiB page", result)
    assert web.hits_for("hostile", BIG)
    assert result.summary is not None
    assert result.summary["articles_new"] >= 2
    seeded.untouched()
    # Archived, or refused as too large with a log line naming it (DOWNLOAD_WARNSIZE's warning
    # is not enough: it says nothing of what became of the page).
    refused = [
        line
        for line in result.log.splitlines()
        if big_url in line and "warn size" not in line and "extraction failed" not in line
    ]
    assert query(seeded.db, "SELECT id FROM articles WHERE url = ?", (big_url,)) or refused
    assert result.peak_rss < RSS_LIMIT, f"peak RSS {result.peak_rss / MiB:.0f} MiB"
