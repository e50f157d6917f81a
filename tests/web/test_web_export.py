"""Export from the web app, on both backends: the file the export link streams is the file
``newsarchive export -o`` writes for the same search, and its manifest describes it."""

from __future__ import annotations

import hashlib
import io
import json
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import pyarrow.parquet as pq
import pytest
from support.http import fetch

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from click.testing import Result

SEARCH = {"q": "Renault OR battery", "lang": "en"}
CLI_FILTERS = ("--query", "Renault OR battery", "--lang", "en")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_the_streamed_export_is_the_cli_export(
    demo_server: str,
    demo_archive: str,
    invoke: Callable[..., Result],
    tmp_path: Path,
    fmt: str,
) -> None:
    status, streamed, headers = fetch(
        demo_server + "/export?" + urlencode({**SEARCH, "format": fmt})
    )
    assert status == 200
    assert f'filename="newsarchive-export.{fmt}"' in headers["content-disposition"]
    out = tmp_path / f"cli.{fmt}"
    result = invoke("export", "--format", fmt, "-o", str(out), *CLI_FILTERS, "--db", demo_archive)
    assert result.exit_code == 0, result.output
    assert streamed == out.read_bytes()
    status, body, _ = fetch(
        demo_server + "/export/manifest?" + urlencode({**SEARCH, "format": fmt})
    )
    manifest = json.loads(body)
    assert status == 200
    assert manifest["sha256"] == hashlib.sha256(streamed).hexdigest()
    assert manifest["filters"]["query"] == SEARCH["q"]
    cli_manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text("utf-8"))
    assert manifest["rows"] == cli_manifest["rows"] > 0
    if fmt == "parquet":
        table = pq.read_table(io.BytesIO(streamed))
        assert table.num_rows == manifest["rows"]
        assert set(table.column("lang").to_pylist()) == {"en"}


def test_bad_export_requests_are_400(demo_server: str) -> None:
    assert fetch(demo_server + "/export?format=xlsx")[0] == 400
    assert fetch(demo_server + "/export?" + urlencode({"q": "Renault OR"}))[0] == 400
    assert fetch(demo_server + "/export/manifest?format=xlsx")[0] == 400
