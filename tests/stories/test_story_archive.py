"""Stories, tags and their commands on a real archive (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update

from newsarchive.archive.models import Article, ArticleCompany, Story, StoryMember
from newsarchive.archive.search import SearchFilters, search
from newsarchive.archive.store import save_page
from newsarchive.archive.stories import build_stories, list_stories, story_mates
from newsarchive.archive.tagging import company_counts, company_pairs, retag

from .labelled_events import load_events

if TYPE_CHECKING:
    from collections.abc import Callable

    from click.testing import Result

    from newsarchive.archive.db import Archive


def _store(archive: Archive, events: tuple[str, ...]) -> dict[str, int]:
    ids = {}
    for item in load_events():
        if item.event.split("-negative")[0] in events:
            with archive.session() as session:
                result = save_page(session, item.page())
            assert result.article_id is not None
            ids[item.key] = result.article_id
    return ids


def test_copies_join_the_original_story_and_reports_join_by_event(archive: Archive) -> None:
    ids = _store(archive, ("byd-szeged", "xiaomi-yu7"))
    with archive.session() as session:
        how = dict(session.execute(select(StoryMember.article_id, StoryMember.how)).all())
        story, mates = story_mates(session, ids["byd-szeged-wire-1"])
        negative, negative_mates = story_mates(session, ids["byd-szeged-negative-1"])
        views = list_stories(session)
        xiaomi = list_stories(session, company_names=["Xiaomi"])
        xiaomi_story, _ = story_mates(session, ids["xiaomi-yu7-wire-1"])
        late = list_stories(session, since=datetime(2026, 3, 13, tzinfo=UTC))
    assert how[ids["byd-szeged-wire-1"]] == "seed"
    assert how[ids["byd-szeged-dailydrive"]] == "copy"
    assert how[ids["byd-szeged-translation-2"]] == "copy"  # the Chinese translation
    assert how[ids["byd-szeged-independent-1"]] == "event"
    assert {m[0] for m in mates} == {
        ids[k] for k in ids if k.startswith("byd-szeged") and "negative" not in k
    } - {ids["byd-szeged-wire-1"]}
    assert negative != story
    assert negative_mates == []
    assert [(v.size, v.copies, v.languages) for v in views] == [
        (6, 4, ["de", "en", "zh"]),
        (6, 4, ["de", "en", "zh"]),
    ]
    assert {v.id for v in xiaomi} == {xiaomi_story}
    assert [v.title for v in late] == ["Xiaomi takes 240,000 orders for YU7 SUV in 18 hours"]


def test_an_article_bridging_two_stories_merges_them(archive: Archive) -> None:
    items = {i.key: i for i in load_events()}
    with archive.session() as session:
        first = save_page(session, items["catl-debrecen-translation-1"].page())  # German
        second = save_page(session, items["catl-debrecen-independent-1"].page())  # French
        stories = session.scalar(select(func.count()).select_from(Story))
    # the German translation and the French analysis share too little: two stories
    assert stories == 2
    with archive.session() as session:
        wire = save_page(session, items["catl-debrecen-wire-1"].page())
        members = dict(session.execute(select(StoryMember.article_id, StoryMember.story_id)).all())
        size = session.scalar(select(Story.size))
    assert set(members) == {first.article_id, second.article_id, wire.article_id}
    assert len(set(members.values())) == 1
    assert size == 3


def test_build_stories_assigns_articles_stored_without_one(archive: Archive) -> None:
    _store(archive, ("tesla-gruenheide",))
    with archive.session() as session:
        before = sorted(session.execute(select(StoryMember.article_id, StoryMember.how)).all())
        session.execute(delete(StoryMember))
        session.execute(delete(Story))
    assert build_stories(archive) == len(before)
    with archive.session() as session:
        after = sorted(session.execute(select(StoryMember.article_id, StoryMember.how)).all())
        sizes = sorted(session.execute(select(Story.size)).scalars())
    assert after == before
    assert sizes == [1, 6]


def test_company_filters_include_brands_and_topics_filter(archive: Archive) -> None:
    ids = _store(archive, ("leapmotor-zaragoza", "renault-job-cuts"))
    group = SearchFilters.from_params(company="Stellantis")
    brand_only = SearchFilters.from_params(company="Peugeot")
    with archive.session() as session:
        found = {h.id for h in search(session, "Zaragoza", group)}
        peugeot = {h.id for h in search(session, "Zaragoza", brand_only)}
        recalls = {
            h.id for h in search(session, "Jeep", SearchFilters.from_params(topic="recalls"))
        }
        counts = {c.company: c for c in company_counts(session, SearchFilters())}
        pairs = company_pairs(session, SearchFilters(), limit=3)
    assert ids["leapmotor-zaragoza-wire-1"] in found
    assert ids["leapmotor-zaragoza-wire-1"] in peugeot  # it names the Peugeot 208
    assert recalls == {ids["leapmotor-zaragoza-negative-1"]}
    assert counts["Peugeot"].group == "Stellantis"
    assert counts["Renault Group"].kind == "group"
    assert pairs[0].articles >= 2


def test_retag_recomputes_companies_and_topics(archive: Archive) -> None:
    ids = _store(archive, ("catl-debrecen",))
    wire = ids["catl-debrecen-wire-1"]
    with archive.session() as session:
        session.execute(update(Article).where(Article.id == wire).values(companies=["Nobody"]))
        session.execute(delete(ArticleCompany).where(ArticleCompany.article_id == wire))
    result = retag(archive, SearchFilters(include_duplicates=True))
    assert result.articles == len(ids)
    assert result.companies_changed == 1
    assert result.topics["batteries"] >= 4
    with archive.session() as session:
        companies = session.scalar(select(Article.companies).where(Article.id == wire))
        rows = set(
            session.scalars(select(ArticleCompany.company).where(ArticleCompany.article_id == wire))
        )
    assert companies == ["CATL", "BMW", "Mercedes-Benz", "Stellantis"]
    assert rows == set(companies)


def test_commands(archive_url: str, archive: Archive, invoke: Callable[..., Result]) -> None:
    ids = _store(archive, ("nissan-oppama",))
    stories = invoke("stories", "--db", archive_url)
    assert stories.exit_code == 0, stories.output
    assert "6 articles (4 copies)" in stories.output
    assert "langs en,fr,ja,zh" in stories.output
    show = invoke("show", str(ids["nissan-oppama-wire-1"]), "--db", archive_url)
    assert show.exit_code == 0, show.output
    assert "story mate: #" in show.output
    assert "(copy)" in show.output
    assert "topics:     " in show.output
    companies = invoke("companies", "--pairs", "--db", archive_url)
    assert companies.exit_code == 0, companies.output
    retagged = invoke("retag", "--since", "2026-03-31", "--db", archive_url)
    assert retagged.exit_code == 0, retagged.output
    assert retagged.output.startswith("retagged 6 articles")
    bad = invoke("search", "Nissan", "--topic", "sport", "--db", archive_url)
    assert bad.exit_code == 2
    assert "unknown topic 'sport'" in bad.output
    exported = invoke(
        "export", "--fields", "id,story_id,story_size", "--format", "csv", "--db", archive_url
    )
    assert exported.exit_code == 0, exported.output
    rows = exported.output.strip().splitlines()
    assert rows[0] == "id,story_id,story_size"
    assert {r.split(",")[2] for r in rows[1:]} == {"6", "1"}
    _ = timedelta


def test_db_upgrade_across_0004_tags_and_groups_existing_articles(
    archive_url: str, invoke: Callable[..., Result]
) -> None:
    from alembic import command

    from newsarchive.archive import open_archive
    from newsarchive.archive.db import alembic_config
    from newsarchive.archive.models import ArticleTopic

    with open_archive(archive_url) as arch:
        ids = _store(arch, ("toyota-solid-state",))
        cfg = alembic_config(arch.engine)
        with arch.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")  # as if stored before topics and stories
    result = invoke("db", "upgrade", "--db", archive_url)
    assert result.exit_code == 0, result.output
    assert f"{len(ids)} existing articles tagged, {len(ids)} put into stories" in result.output
    with open_archive(archive_url) as arch, arch.session() as session:
        topics = session.scalar(select(func.count()).select_from(ArticleTopic))
        sizes = sorted(session.scalars(select(Story.size)))
    assert topics
    assert sizes == [1, 6]


def test_story_keys_computed_in_the_worker_are_the_ones_stored(archive: Archive) -> None:
    """The extraction worker computes a page's event keys (``analyse_page``); the archive
    stores those and computes them itself only for a page that comes without."""
    from newsarchive.extraction.analysis import analyse_page
    from newsarchive.extraction.similarity import event_keys, serialise_keys

    items = [item for item in load_events() if item.event == "byd-szeged"][:2]
    given, missing = items[0].page(), items[1].page()
    assert given.article is not None
    assert missing.article is not None
    given.story_keys = {"^hu-szeged": 1.5, "%atto3": 2.0, "~worker": 1.0}
    assert missing.story_keys is None
    ids = []
    for page in (given, missing):
        with archive.session() as session:
            ids.append(save_page(session, page).article_id)
    with archive.session() as session:
        stored = dict(session.execute(select(StoryMember.article_id, StoryMember.keys)).all())
    assert stored[ids[0]] == serialise_keys(given.story_keys)
    article = missing.article
    assert stored[ids[1]] == serialise_keys(event_keys(article.title, article.body, article.lang))

    html = (
        "<html lang='en'><head><title>BYD opens its Szeged plant</title>"
        "<meta property='og:type' content='article'></head><body><article><h1>BYD opens its "
        "Szeged plant</h1><p>" + "BYD opened its car plant in Szeged, Hungary, on Monday, "
        "with 2,500 jobs and an output of 150,000 Atto 3 cars a year planned by 2027. "
        * 6
        + "</p></article></body></html>"
    )
    analysis = analyse_page(html.encode(), "https://motor.example/news/2026/byd-szeged.html")
    found = analysis.article
    assert found is not None
    assert analysis.story_keys
    assert analysis.story_keys == event_keys(found.title, found.body, found.lang)
