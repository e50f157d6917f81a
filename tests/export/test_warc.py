"""WARC of the raw captures: valid for warcio's own tools, and enough to re-extract identically."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from newsarchive.archive.export import export_to_file
from newsarchive.archive.models import Article, Capture
from newsarchive.archive.search import SearchFilters
from newsarchive.extraction import extract

if TYPE_CHECKING:
    from pathlib import Path

    from newsarchive.archive import Archive


def _warcio(*args: str) -> subprocess.CompletedProcess[str]:
    """warcio's own command line, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-P", "-c", "from warcio.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _export(archive: Archive, path: Path, filters: SearchFilters | None = None) -> dict:
    with archive.session() as s:
        result = export_to_file(s, "warc", path, filters or SearchFilters(include_duplicates=True))
    return json.loads(result.manifest_path.read_text(encoding="utf-8"))


def test_warc_records_check_and_index(captured: Archive, tmp_path: Path) -> None:
    path = tmp_path / "captures.warc.gz"
    manifest = _export(captured, path)
    assert manifest["rows"] == 8
    assert manifest["records"] == {"request": 8, "response": 8, "metadata": 8}
    assert manifest["extractor"]["trafilatura"]
    check = _warcio("check", "-v", str(path))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout
    index = _warcio("index", "-f", "warc-type,warc-target-uri,http:status", str(path))
    assert index.returncode == 0, index.stderr
    entries = [json.loads(line) for line in index.stdout.splitlines()]
    assert [e["warc-type"] for e in entries] == ["response", "request", "metadata"] * 8
    assert {e["http:status"] for e in entries if e["warc-type"] == "response"} == {"200"}
    # gzip per record: every record is its own gzip member
    with gzip.open(path, "rb") as fh:
        assert fh.read(9) == b"WARC/1.0\r"
    raw = path.read_bytes()
    assert raw.count(b"\x1f\x8b\x08") >= 24


def test_warc_holds_the_stored_bytes_and_reextracts_identically(
    captured: Archive, tmp_path: Path
) -> None:
    path = tmp_path / "captures.warc.gz"
    _export(captured, path)
    with captured.session() as s:
        stored = {c.id: c for c in s.scalars(select(Capture))}
        articles = {a.id: a for a in s.scalars(select(Article))}
        responses: dict[str, tuple[bytes, list[tuple[str, str]], str]] = {}
        metadata: list[dict[str, str]] = []
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                rid = record.rec_headers.get_header("WARC-Record-ID")
                if record.rec_type == "response":
                    responses[rid] = (
                        record.content_stream().read(),
                        record.http_headers.headers,
                        record.http_headers.statusline,
                    )
                elif record.rec_type == "metadata":
                    block = record.content_stream().read().decode("utf-8")
                    fields = dict(line.split(": ", 1) for line in block.splitlines() if line)
                    fields["refers-to"] = record.rec_headers.get_header("WARC-Refers-To")
                    metadata.append(fields)
        assert len(metadata) == len(responses) == len(stored) == 8
        for meta in metadata:
            body, headers, statusline = responses[meta["refers-to"]]
            capture = stored[int(meta["capture-id"])]
            assert body == zlib.decompress(capture.html_gz)  # the stored bytes, exactly
            assert statusline == "200 OK"
            names = {k.lower(): v for k, v in headers}
            assert names["content-length"] == str(len(body))
            assert names["x-archive-orig-content-encoding"] == "gzip"  # body is decoded
            assert names["content-type"] == "text/html; charset=utf-8"
            article = articles[int(meta["article-id"])]
            again = extract(
                body,
                capture.final_url,
                datetime.fromisoformat(meta["fetched-at"]),
                encoding=meta["encoding"] or None,
                lang_hint=meta["source-language"] or None,
            )
            assert again is not None
            assert (again.title, again.body, again.authors, again.lang) == (
                article.title,
                article.body,
                article.authors,
                article.lang,
            )
            assert again.published == article.published
            assert again.date_source == article.date_source


def test_warc_is_reproducible_and_filtered(captured: Archive, tmp_path: Path) -> None:
    one, two = tmp_path / "one.warc.gz", tmp_path / "two.warc.gz"
    _export(captured, one)
    _export(captured, two)
    assert one.read_bytes() == two.read_bytes()
    only = _export(captured, tmp_path / "motorwire.warc.gz", SearchFilters(source="motorwire"))
    with (tmp_path / "motorwire.warc.gz").open("rb") as fh:
        uris = {
            r.rec_headers.get_header("WARC-Target-URI")
            for r in ArchiveIterator(fh)
            if r.rec_type == "response"
        }
    assert uris
    assert all(u.startswith("https://motorwire.example/") for u in uris)
    assert only["rows"] == len(uris)
