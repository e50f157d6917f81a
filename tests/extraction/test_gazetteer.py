"""Gazetteer quality on a labelled mention set (tests/fixtures/gazetteer/mentions.toml), and the
structure of the bundled gazetteer: groups, brands, languages, tickers."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from newsarchive.extraction.companies import (
    KINDS,
    _parse,
    find_companies,
    find_company_ids,
    find_mentions,
    load_gazetteer,
)

MENTIONS = Path(__file__).resolve().parent.parent / "fixtures" / "gazetteer" / "mentions.toml"
SCRIPTS = {
    "latin": r"[A-Za-z]",
    "han-simplified": r"[比亚迪丰田大众汽车]",
    "han-traditional": r"[比亞迪豐田大眾汽車鴻]",
    "kana": r"[\u30a0-\u30ff]",
    "hangul": r"[\uac00-\ud7af]",
    "cyrillic": r"[\u0400-\u04ff]",
    "arabic": r"[\u0600-\u06ff]",
    "devanagari": r"[\u0900-\u097f]",
}


def _cases() -> list[dict[str, object]]:
    return list(tomllib.loads(MENTIONS.read_text(encoding="utf-8"))["case"])


def test_mention_precision_and_recall_on_labelled_set() -> None:
    tp = fp = fn = 0
    errors = []
    for case in _cases():
        expected = Counter((str(s), str(i)) for s, i in case["mentions"])  # type: ignore[attr-defined]
        found = Counter((m.alias, m.company_id) for m in find_mentions(str(case["text"])))
        tp += sum((expected & found).values())
        fp += sum((found - expected).values())
        fn += sum((expected - found).values())
        if expected != found:
            errors.append((case["text"], dict(expected - found), dict(found - expected)))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(
        f"gazetteer mentions: {len(_cases())} texts, precision {precision:.3f}, recall {recall:.3f}"
    )
    assert len(_cases()) >= 70
    assert precision >= 0.95, errors
    assert recall >= 0.90, errors


def test_groups_include_their_brands() -> None:
    gaz = load_gazetteer()
    stellantis = {c.id for c in gaz.descendants("stellantis")} - {"stellantis"}
    assert len(stellantis) == 14
    renault = {c.id for c in gaz.descendants("renault-group")}
    assert {"renault", "dacia", "alpine", "mobilize", "ampere"} <= renault
    geely = {c.id for c in gaz.descendants("geely")}
    assert {"volvo-cars", "polestar", "zeekr", "lotus", "lynk-co", "smart"} <= geely
    assert {"jlr", "jaguar", "land-rover"} <= {c.id for c in gaz.descendants("tata-motors")}
    assert gaz.top_group("jaguar") == "tata-motors"
    assert gaz.resolve("stellantis") is gaz.companies["stellantis"]
    assert gaz.resolve("比亚迪") is gaz.companies["byd"]
    assert gaz.resolve("no such company") is None
    kinds = Counter(c.kind for c in gaz.companies.values())
    assert set(kinds) == set(KINDS)
    assert kinds["battery"] >= 6
    assert kinds["supplier"] >= 10
    assert kinds["tech"] >= 8


def test_aliases_cover_eight_scripts() -> None:
    aliases = list(load_gazetteer().alias_ids)
    covered = {name for name, rx in SCRIPTS.items() if any(re.search(rx, a) for a in aliases)}
    assert covered == set(SCRIPTS)
    ids = find_company_ids("比亚迪 小米汽车 丰田 トヨタ 현대차 Тойота")
    assert ids == ["byd", "xiaomi", "toyota", "hyundai"]


def test_cjk_matches_without_word_boundaries() -> None:
    assert find_companies("今天小米汽车发布新车，比亚迪回应") == ["Xiaomi", "BYD"]
    assert find_companies("トヨタ自動車は新型EVを発表") == ["Toyota"]
    assert find_companies("현대차는 기아와 함께 전기차 판매를 늘렸다") == ["Hyundai", "Kia"]
    assert find_companies("小米粥很好喝") == []


def test_tickers_and_german_compounds() -> None:
    assert find_company_ids("Shares (NYSE: F) and 1211.HK rose; TSLA fell") == [
        "ford",
        "byd",
        "tesla",
    ]
    assert find_company_ids("Der VW-Chef im BMW-Werk") == ["volkswagen", "bmw"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[company]\nname=", "invalid TOML"),
        ('[[company]]\nname = "A"\n', "needs at least one alias"),
        ('[[company]]\nname="A"\naliases=["X"]\n[[company]]\nname="B"\naliases=["X"]\n', "already"),
        ('[[company]]\nname="A"\naliases=["A"]\nalias="B"\n', "unknown key"),
        ('[[company]]\nname="A"\naliases=["A"]\ngroup="nope"\n', "group 'nope' is not an id"),
        ('[[company]]\nname="A"\naliases=["A"]\nkind="bank"\n', "kind 'bank'"),
    ],
)
def test_gazetteer_validation_errors(text: str, message: str) -> None:
    from newsarchive.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        _parse(text, "x.toml")


def test_the_first_character_guard_changes_no_match() -> None:
    """Regression for the speed-up of the name patterns: the look-ahead for a match's first
    character must find exactly what the unguarded alternation finds — at the start of the
    text, after a hyphen, in a ticker with a space, behind an Arabic particle, in CJK text."""
    from newsarchive.extraction.entities import load_places

    text = (
        "Toyota said (NYSE: F) Ford and VW-Chef Blume met in Wolfsburg; Rolls-Royce too. "
        "وتسلا و تسلا. 比亚迪在上海发布新车，丰田和本田在東京。 xToyota Toyotas BMW."
    )
    for pattern in (load_gazetteer().pattern, load_places().pattern):
        guard, inner = pattern.pattern.split("(?:", 1)
        assert guard.startswith("(?=[")
        bare = re.compile(inner[:-1])
        assert [(m.span(), m.lastgroup) for m in pattern.finditer(text)] == [
            (m.span(), m.lastgroup) for m in bare.finditer(text)
        ]
    assert [m.alias for m in find_mentions(text)][:3] == ["Toyota", "NYSE: F", "Ford"]
