"""Entities that survive translation, event keys and topics: pure functions."""

from __future__ import annotations

import pytest

from newsarchive.extraction.entities import entities, number_value
from newsarchive.extraction.similarity import STORY_THRESHOLD, event_keys, event_similarity
from newsarchive.extraction.topics import tag_topics


@pytest.mark.parametrize(
    "text",
    [
        "BYD will invest 3.2 billion euros in Szeged, Hungary, creating 3,200 jobs.",
        "BYD investiert 3,2 Milliarden Euro in Szeged in Ungarn und schafft 3.200 Stellen.",
        "BYD invertirá 3.200 millones de euros en Szeged (Hungría) y creará 3.200 empleos.",
        "比亚迪将在匈牙利塞格德投资32亿欧元，创造3200个就业岗位。",
        "BYDはハンガリーのセゲドに32億ユーロを投資し、3200人を雇用する。",
    ],
)
def test_the_same_facts_in_five_languages_are_the_same_entities(text: str) -> None:
    found = {(e.kind, e.value) for e in entities(text)}
    assert found == {
        ("company", "byd"),
        ("place", "hungary"),
        ("place", "szeged"),
        ("number", "3.2e+09"),
        ("number", "3.2e+03"),
    }


def test_numbers_skip_years_and_small_counts() -> None:
    values = [e.value for e in entities("In 2026 the 3 plants made 40,000 cars, 12.5% more.")]
    assert values == ["4e+04", "12.5"]
    assert number_value("3,5", None) == 3.5
    assert number_value("1,200", "mln") == 1.2e9


def test_event_similarity_joins_reports_and_keeps_apart_other_events_of_a_company() -> None:
    wire = event_keys(
        "BYD to build plant in Szeged",
        "BYD will invest 2.6 billion euros in Szeged, Hungary, and employ 4,800 people. "
        "Mayor Laszlo Botka welcomed the 300,000-car plant.",
        "en",
    )
    chinese = event_keys(
        None, "比亚迪将投资26亿欧元在匈牙利塞格德建厂，雇用4800名员工，年产30万辆。", "zh"
    )
    recall = event_keys(
        "BYD recalls 95,000 cars",
        "BYD is recalling 95,000 Seal cars built in Shenzhen over a steering fault.",
        "en",
    )
    assert event_similarity(wire, chinese) >= STORY_THRESHOLD
    assert event_similarity(wire, recall) == 0.0
    assert event_similarity(chinese, recall) == 0.0


def test_topics_explain_themselves_in_several_languages() -> None:
    tags = {
        t.topic: t.terms
        for t in tag_topics(
            "VW-Rückruf: 10.000 Elektroautos",
            "Volkswagen ruft 10.000 Elektroautos zurück. Der Rückruf betrifft das Werk Zwickau.",
        )
    }
    assert tags["recalls"] == ["Rückruf*"]
    assert "ev" in tags
    chinese = {
        t.topic
        for t in tag_topics("比亚迪召回9.5万辆", "比亚迪召回9.5万辆电动汽车，召回原因是转向故障。")
    }
    assert "recalls" in chinese
    # an acronym matches in capitals only: Italian "ai" is "to the"
    assert tag_topics(None, "ai clienti e ai concessionari, ai tempi") == []
    assert [t.topic for t in tag_topics(None, "AI chips and AI software")] == ["software"]
    battery = tag_topics(None, "CATL said the battery", ["CATL"])
    assert [(t.topic, t.terms) for t in battery] == [("batteries", ["batter*", "company:battery"])]


def test_countries_and_generic_names_alone_do_not_make_one_event() -> None:
    show = event_keys(
        "Auto China opens in Beijing",
        "Chinese brands filled the Auto halls in Beijing, China.",
        "en",
    )
    talks = event_keys(
        "Renault in talks with Xiaomi",
        "Renault met Xiaomi at Auto China in Beijing; Chinese rivals watched. China, Europe.",
        "en",
    )
    assert event_similarity(show, talks) == 0.0
