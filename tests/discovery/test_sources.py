from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from newsarchive.cli import _register, cli
from newsarchive.discovery.sources import load_sources, parse_sources, source_for_url
from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


def test_bundled_registry_is_valid_and_broad() -> None:
    sources = load_sources()
    assert len(sources) >= 25
    assert len({s.language for s in sources.values()}) >= 5
    assert len({s.country for s in sources.values()}) >= 8
    for name in ("autocar", "electrive", "cnevpost", "automobilwoche", "quattroruote", "largus"):
        assert name in sources
    assert sources["reuters-autos"].hosts() == ("reuters.com",)
    assert sources["autocar"].hosts() == ("autocar.co.uk",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[sources.x]\nhomepage='https://x.com/'\nlanguage='en'\ncountry='US'",
            "'display_name': missing",
        ),
        (
            "[sources.x]\ndisplay_name='X'\nhomepage='ftp://x'\nlanguage='en'\ncountry='US'",
            "'homepage'",
        ),
        (
            "[sources.x]\ndisplay_name='X'\nhomepage='https://x.com/'\nlanguage='eng'\ncountry='US'",
            "'language'",
        ),
        (
            "[sources.x]\ndisplay_name='X'\nhomepage='https://x.com/'\nlanguage='en'\ncountry='usa'",
            "'country'",
        ),
        (
            "[sources.x]\ndisplay_name='X'\nhomepage='https://x.com/'\nlanguage='en'\ncountry='US'\nfeeds='https://x.com/feed'",
            "'feeds': must be a list",
        ),
        (
            "[sources.x]\ndisplay_name='X'\nhomepage='https://x.com/'\nlanguage='en'\ncountry='US'\nfeeds=['/feed']",
            "'feeds': not an http",
        ),
        (
            "[sources.x]\ndisplay_name='X'\nhomepage='https://x.com/'\nlanguage='en'\ncountry='US'\nrss=[]",
            "'rss': unknown field",
        ),
        ("[sources.Bad_Name]\ndisplay_name='X'", "lower-case slug"),
        ("[sources.x\n", "invalid TOML"),
        ("[other]\n", "unknown top-level key"),
    ],
)
def test_invalid_entries_name_file_entry_and_field(body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"my\.toml") as info:
        parse_sources(body, "my.toml")
    assert message in str(info.value)


def test_extra_file_adds_and_overrides(tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text(
        "[sources.autocar]\ndisplay_name='Autocar UK'\nhomepage='https://www.autocar.co.uk/'\n"
        "language='en'\ncountry='GB'\nsitemaps=['https://www.autocar.co.uk/sitemap.xml']\n"
        "[sources.local]\ndisplay_name='Local'\nhomepage='http://127.0.0.1:8000/'\n"
        "language='de'\ncountry='DE'\nallowed_hosts=['127.0.0.1:8000']\n"
    )
    sources = load_sources(extra)
    assert sources["autocar"].display_name == "Autocar UK"
    assert sources["autocar"].sitemaps == ("https://www.autocar.co.uk/sitemap.xml",)
    assert sources["local"].hosts() == ("127.0.0.1:8000",)
    with pytest.raises(ConfigError, match="cannot read"):
        load_sources(tmp_path / "missing.toml")


def test_source_for_url() -> None:
    source = source_for_url("https://www.electrive.com/2024/05/01/x/?utm_source=a")
    assert source.name == "electrive.com"
    assert source.homepage == "https://www.electrive.com/2024/05/01/x/"
    assert source.hosts() == ("electrive.com",)
    with pytest.raises(ConfigError):
        source_for_url("not a url")


def test_cli_lists_sources(tmp_path: Path) -> None:
    _register()
    runner = CliRunner()
    result = runner.invoke(cli, ["sources"])
    assert result.exit_code == 0, result.output
    assert "autocar" in result.output
    assert "https://www.autocar.co.uk/" in result.output
    result = runner.invoke(cli, ["sources", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert {r["name"] for r in rows} == set(load_sources())
    bad = tmp_path / "bad.toml"
    bad.write_text("[sources.x]\ndisplay_name='X'\n")
    result = runner.invoke(cli, ["sources", "--sources-file", str(bad)])
    assert result.exit_code == 2
    assert "bad.toml: source 'x': field 'homepage': missing" in result.output
