"""Copy links and stories on the labelled event set: 12 events in 7 languages, each with a wire
story, rewrites, translations, independent reports and a hard negative (same companies, same
week, another event). Figures are printed (``pytest -s``) and recorded in docs/dedupe.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from newsarchive.archive.models import Article, Duplicate, StoryMember
from newsarchive.archive.store import save_page

from .labelled_events import bcubed, load_events, pairs

if TYPE_CHECKING:
    from newsarchive.archive.db import Archive


def _store_all(archive: Archive, order: str) -> dict[str, int]:
    ids = {}
    events = load_events()
    for item in reversed(events) if order == "reversed" else events:
        with archive.session() as session:
            ids[item.key] = save_page(session, item.page()).article_id
    return ids


def _components(links: list[tuple[int, int]], ids: list[int]) -> dict[int, int]:
    parent = {i: i for i in ids}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in links:
        parent[find(a)] = find(b)
    return {i: find(i) for i in ids}


@pytest.mark.parametrize("order", ["published", "reversed"])
def test_copy_links_and_stories_on_labelled_events(archive: Archive, order: str) -> None:
    """``reversed``: every copy and report is stored before what it copies (a crawl that finds
    the partners first); the links and stories must come out the same."""
    items = {i.key: i for i in load_events()}
    ids = _store_all(archive, order)
    key_of = {v: k for k, v in ids.items()}
    with archive.session() as session:
        links = [
            tuple(r) for r in session.execute(select(Duplicate.article_id, Duplicate.original_id))
        ]
        stories = dict(session.execute(select(StoryMember.article_id, StoryMember.story_id)).all())
        stored = session.scalar(select(Article.id).order_by(Article.id.desc()))
    assert stored is not None
    languages = {i.lang for i in items.values()}
    events = {i.event for i in items.values() if i.role == "wire"}
    assert len(items) >= 80
    assert len(events) >= 12
    assert len(languages) >= 6
    assert "zh" in languages

    # copy links: pairs inside predicted copy groups against gold copy groups
    groups = _components(links, list(ids.values()))  # type: ignore[arg-type]
    predicted = pairs({key_of[i]: str(g) for i, g in groups.items()})
    predicted = {p for p in predicted if groups[ids[min(p)]] == groups[ids[max(p)]]}
    gold = pairs({k: i.copy_group for k, i in items.items()})
    report = []
    for name, same in (("same-language", True), ("cross-language", False)):

        def keep(p: frozenset[str], same: bool = same) -> bool:
            a, b = sorted(p)
            return (items[a].lang == items[b].lang) == same

        g = {p for p in gold if keep(p)}
        pr = {p for p in predicted if keep(p)}
        tp = len(g & pr)
        precision = tp / len(pr) if pr else 1.0
        recall = tp / len(g) if g else 1.0
        report.append((name, len(g), len(pr), tp, precision, recall))
    tp = len(gold & predicted)
    precision, recall = tp / len(predicted), tp / len(gold)
    zh_gold = {p for p in gold if any(items[k].lang == "zh" for k in p)}
    zh_recall = len(zh_gold & predicted) / len(zh_gold)
    cross_event = [sorted(p) for p in predicted if len({items[k].event for k in p}) > 1]

    # stories: B-cubed over every article
    gold_story = {k: i.event for k, i in items.items()}
    predicted_story = {key_of[a]: str(s) for a, s in stories.items()}
    b_precision, b_recall, b_f1 = bcubed(gold_story, predicted_story)

    print(
        f"\n[{order} order] labelled set: {len(items)} articles, {len(events)} events, languages {sorted(languages)}"
    )
    for name, n_gold, n_pred, _tp, p, r in report:
        print(
            f"copy links {name}: gold pairs {n_gold}, linked {n_pred}, precision {p:.3f}, recall {r:.3f}"
        )
    print(
        f"copy links all: precision {precision:.3f}, recall {recall:.3f}, Chinese recall {zh_recall:.3f}"
    )
    print(f"copy links between different events: {len(cross_event)}")
    print(f"stories B-cubed: precision {b_precision:.3f}, recall {b_recall:.3f}, F1 {b_f1:.3f}")
    missed = sorted(sorted(p) for p in gold - predicted)
    wrong = sorted(sorted(p) for p in predicted - gold)
    assert not cross_event, cross_event
    assert precision >= 0.98, wrong
    assert recall >= 0.90, missed
    assert zh_recall >= 0.90, missed
    assert b_f1 >= 0.90, (b_precision, b_recall)
