"""The README documents every command, and the CLI keeps the promises README makes."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from newsarchive.cli import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in sorted(group.commands.items()):
        names.append(f"{prefix}{name}")
        if isinstance(command, click.Group):
            names += _commands(command, f"{prefix}{name} ")
    return names


COMMANDS = _commands(cli)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented_with_an_example(command: str) -> None:
    text = README.read_text(encoding="utf-8")
    assert re.search(rf"newsarchive {re.escape(command)}\b", text), (
        f"README.md has no example of `newsarchive {command}`"
    )


def test_readme_export_fields_match_the_exporter() -> None:
    """README's field table is the export schema: every field, its type, default, meaning."""
    from newsarchive.archive.export import SCHEMA

    text = README.read_text(encoding="utf-8")
    table = re.findall(r"^\| `(\w+)` \| (.+?) \| (yes)? \| (.+) \|$", text, flags=re.MULTILINE)
    assert table == [(f.name, f.type_label, "yes" if f.default else "", f.meaning) for f in SCHEMA]


def test_readme_exit_codes_match_the_cli() -> None:
    from newsarchive import cli as cli_module

    text = README.read_text(encoding="utf-8")
    for name in ("EXIT_OK", "EXIT_PARTIAL", "EXIT_FATAL", "EXIT_LOCKED", "EXIT_INTERRUPTED"):
        code = getattr(cli_module, name)
        assert re.search(rf"^\| {code} \|", text, flags=re.MULTILINE), name


def test_ci_runs_the_readme_install_and_test_commands() -> None:
    """CI must do what README tells a newcomer to do, or a broken quick start lands unseen."""
    readme = README.read_text(encoding="utf-8")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    quick_start = re.search(r"## Quick start.*?```console\n(.*?)```", readme, flags=re.DOTALL)
    assert quick_start is not None
    install, test = quick_start.group(1).strip().splitlines()
    assert 'pip install ".[test]"' in install
    assert 'python -m pip install --quiet ".[test]"' in ci
    assert test == "pytest -q"
    assert re.search(r"^pytest -q$", ci, flags=re.MULTILINE)
