"""The labelled event set (tests/fixtures/events), as pages to store, with its gold labels."""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from newsarchive.extraction.companies import find_companies
from newsarchive.extraction.topics import tag_topics
from newsarchive.items import Article, FetchedPage

EVENTS = Path(__file__).resolve().parent.parent / "fixtures" / "events"

# How partners republish a wire story in the same language: (outlet, new headline prefix,
# their credit line or own sentence, how many paragraphs they keep, minutes after the wire).
REWRITES = (
    ("dailydrive", "", "Originally published by the wire service; edited by Daily Drive.", 0, 95),
    (
        "motornews",
        "Update: ",
        "Reporting by our agency partner. Motor News adds context below.",
        4,
        180,
    ),
)


@dataclass(frozen=True, slots=True)
class Labelled:
    key: str
    event: str  # gold story
    copy_group: str | None  # gold copy group (wire, rewrites, translations), None otherwise
    role: str
    source: str
    lang: str
    published: datetime
    title: str
    body: str

    def page(self) -> FetchedPage:
        url = f"https://{self.source}.example/{self.key}"
        companies = find_companies(self.title, self.body)
        article = Article(
            url=url,
            canonical_url=url,
            title=self.title,
            body=self.body,
            published=self.published,
            date_source="jsonld",
            lang=self.lang,
            companies=companies,
            topics=tag_topics(self.title, self.body, companies),
        )
        return FetchedPage(
            url=url,
            requested_url=url,
            status=200,
            body=f"<html><body><h1>{self.title}</h1></body></html>".encode(),
            fetched_at=self.published + timedelta(hours=1),
            source=self.source,
            headers={"Content-Type": "text/html; charset=utf-8"},
            encoding="utf-8",
            article=article,
        )


def _rewrite(
    wire: Labelled, outlet: str, prefix: str, credit: str, keep: int, minutes: int
) -> Labelled:
    paragraphs = [p for p in wire.body.strip().splitlines() if p.strip()]
    kept = paragraphs[:keep] if keep else paragraphs[:-1]
    return Labelled(
        key=f"{wire.event}-{outlet}",
        event=wire.event,
        copy_group=wire.event,
        role="rewrite",
        source=outlet,
        lang=wire.lang,
        published=wire.published + timedelta(minutes=minutes),
        title=prefix + wire.title.replace(" to ", " will "),
        body="\n".join([*kept, credit]),
    )


def load_events() -> list[Labelled]:
    """Every labelled article, rewrites included, in publication order."""
    articles: list[Labelled] = []
    for path in sorted(EVENTS.glob("e*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        event = str(data["event"])
        counts: dict[str, int] = {}
        for entry in data["article"]:
            role = str(entry["role"])
            counts[role] = counts.get(role, 0) + 1
            gold = f"{event}-negative-{counts[role]}" if role == "negative" else event
            item = Labelled(
                key=f"{event}-{role}-{counts[role]}",
                event=gold,
                copy_group=event if role in ("wire", "translation") else None,
                role=role,
                source=str(entry["source"]),
                lang=str(entry["lang"]),
                published=datetime.fromisoformat(str(entry["published"])),
                title=str(entry["title"]),
                body=str(entry["body"]).strip(),
            )
            articles.append(item)
            if role == "wire":
                articles += [_rewrite(item, *spec) for spec in REWRITES]
    return sorted(articles, key=lambda a: (a.published, a.key))


def pairs(groups: dict[str, str | None]) -> set[frozenset[str]]:
    """Unordered pairs of keys that share a non-null group."""
    by_group: dict[str, list[str]] = {}
    for key, group in groups.items():
        if group is not None:
            by_group.setdefault(group, []).append(key)
    return {
        frozenset(p) for members in by_group.values() for p in itertools.combinations(members, 2)
    }


def bcubed(gold: dict[str, str], predicted: dict[str, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 of a clustering (Bagga & Baldwin)."""
    gold_sets: dict[str, set[str]] = {}
    pred_sets: dict[str, set[str]] = {}
    for key, g in gold.items():
        gold_sets.setdefault(g, set()).add(key)
        pred_sets.setdefault(predicted[key], set()).add(key)
    precision = recall = 0.0
    for key in gold:
        same_pred = pred_sets[predicted[key]]
        same_gold = gold_sets[gold[key]]
        both = len(same_pred & same_gold)
        precision += both / len(same_pred)
        recall += both / len(same_gold)
    precision, recall = precision / len(gold), recall / len(gold)
    return precision, recall, 2 * precision * recall / (precision + recall)
