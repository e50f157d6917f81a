"""The original of a group of copies is the first publisher, whatever order pages are stored in.

A syndicator that is crawled first must not become the source of the stories it republishes:
the copy that credits the other page (attribution line, cross-domain canonical, JSON-LD) is
the copy when publication times tie, a clearly earlier publication wins otherwise, and a late
original takes over the whole group. Existing archives are fixed by ``db relink`` /
``db upgrade``.
"""

from __future__ import annotations

import html as htmllib
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from alembic import command
from sqlalchemy import delete, select
from support.newssite import prose_text

from newsarchive.archive import linking, open_archive
from newsarchive.archive.db import alembic_config
from newsarchive.archive.linking import (
    Claim,
    OriginRule,
    choose_original,
    linkable,
    relink_archive,
)
from newsarchive.archive.models import Article, ArticleClaim, CreditKey, Duplicate
from newsarchive.archive.reports import get_article
from newsarchive.archive.store import save_page
from newsarchive.items import Credit, CreditKind

from .syndication import FETCHED, make_page

if TYPE_CHECKING:
    from collections.abc import Callable

    from click.testing import Result

    from newsarchive.archive import Archive
    from newsarchive.items import FetchedPage

ORIGIN_URL = "https://harbour-herald.example/business/2024/05/port-orders-electric-tugs"
COPY_URL = "https://wire-digest.example/stories/0001-port-orders-electric-tugs.html"
SECOND_COPY_URL = "https://autos-today.example/n/port-electric-tugs"
PUBLISHED = FETCHED - timedelta(days=2)
BODY = prose_text(3)


def origin_page(*, fetched_offset: int = 0) -> FetchedPage:
    page = make_page(
        url=ORIGIN_URL,
        title="Port orders electric tugs",
        body=BODY,
        source="harbour-herald",
        published=PUBLISHED,
        fetched_at=FETCHED + timedelta(minutes=fetched_offset),
    )
    assert page.article is not None
    page.article.site_name = "Harbour Herald"
    return page


def copy_page(
    url: str = COPY_URL,
    *,
    source: str = "wire-digest",
    credits: list[Credit] | None = None,
    published_delay: timedelta = timedelta(0),
    fetched_offset: int = 0,
) -> FetchedPage:
    credit = f'<p>Originally published by <a href="{ORIGIN_URL}">Harbour Herald</a>.</p>'
    page = make_page(
        url=url,
        title="Port orders electric tugs",
        body=BODY + "\nOriginally published by Harbour Herald.",
        source=source,
        published=PUBLISHED + published_delay,
        fetched_at=FETCHED + timedelta(minutes=fetched_offset),
    )
    paragraphs = "".join(f"<p>{htmllib.escape(p)}</p>" for p in BODY.splitlines())
    page.body = (
        "<html lang='en'><head><title>Port orders electric tugs</title></head><body><article>"
        f"<h1>Port orders electric tugs</h1>{paragraphs}{credit}</article></body></html>"
    ).encode()
    assert page.article is not None
    page.article.site_name = "Wire Digest"
    page.article.credits = (
        [Credit(CreditKind.LINE, url=ORIGIN_URL, name="Harbour Herald")]
        if credits is None
        else credits
    )
    return page


def store(archive: Archive, *pages: FetchedPage) -> None:
    for page in pages:
        with archive.session() as session:
            save_page(session, page)


def links(archive: Archive) -> dict[str, tuple[str, str | None]]:
    """copy URL → (original URL, rule)."""
    with archive.session() as session:
        urls = dict(session.execute(select(Article.id, Article.url)).all())
        rows = session.execute(
            select(Duplicate.article_id, Duplicate.original_id, Duplicate.rule)
        ).all()
    return {urls[a]: (urls[o], rule) for a, o, rule in rows}


@pytest.mark.parametrize("copy_first", [True, False], ids=["copy-first", "origin-first"])
def test_the_crediting_copy_hangs_under_the_first_publisher_in_either_order(
    archive: Archive, copy_first: bool
) -> None:
    """Same timestamp (the wire's), the syndicator seen first or last: the same link."""
    pages = [copy_page(), origin_page(fetched_offset=5)]
    store(archive, *(pages if copy_first else pages[::-1]))
    assert links(archive) == {COPY_URL: (ORIGIN_URL, "credit")}


def test_published_first_wins_beyond_the_tie_window(archive: Archive) -> None:
    """A copy published three days later, crediting nobody, stored first: not the original."""
    store(archive, copy_page(credits=[], published_delay=timedelta(days=3)), origin_page())
    assert links(archive) == {COPY_URL: (ORIGIN_URL, "published")}


def test_without_dates_or_credits_the_earlier_seen_page_stays_original(archive: Archive) -> None:
    first = copy_page(credits=[])
    second = origin_page(fetched_offset=10)
    for page in (first, second):
        assert page.article is not None
        page.article.published = None
    store(archive, first, second)
    assert links(archive) == {ORIGIN_URL: (COPY_URL, "first_seen")}


def test_a_late_first_publisher_takes_over_the_whole_group(archive: Archive) -> None:
    """Two republications stored first form a group; the origin arrives and all hang under it."""
    second = copy_page(
        SECOND_COPY_URL,
        source="autos-today",
        credits=[Credit(CreditKind.LINE, name="Harbour Herald")],
        fetched_offset=1,
    )
    store(archive, copy_page(), second, origin_page(fetched_offset=9))
    got = links(archive)
    assert {copy: original for copy, (original, _) in got.items()} == {
        COPY_URL: ORIGIN_URL,
        SECOND_COPY_URL: ORIGIN_URL,
    }
    assert got[COPY_URL][1] == "credit"
    with archive.session() as session:
        origin_id = session.scalar(select(Article.id).where(Article.url == ORIGIN_URL))
        assert origin_id is not None
        view = get_article(session, origin_id)
    assert sorted(c.url for c in view.copies) == [SECOND_COPY_URL, COPY_URL]


def test_show_says_which_rule_decided(archive: Archive, invoke: Callable[..., Result]) -> None:
    store(archive, copy_page(), origin_page(fetched_offset=5))
    result = invoke("show", COPY_URL, "--db", archive.url)
    assert result.exit_code == 0, result.output
    assert f"copy of:    #2 {ORIGIN_URL}" in result.output
    assert "original: credited by the copy" in result.output


def _reverse_links_as_an_old_version_stored_them(archive: Archive) -> None:
    """Before claims existed the earliest-stored page was the original, without a rule."""
    with archive.session() as session:
        ids = dict(session.execute(select(Article.url, Article.id)).all())
        session.execute(delete(Duplicate))
        session.add(
            Duplicate(article_id=ids[ORIGIN_URL], original_id=ids[COPY_URL], kind="near", score=0.9)
        )
        session.execute(delete(ArticleClaim))


def test_db_relink_repoints_a_reversed_group_from_the_stored_captures(
    archive: Archive, invoke: Callable[..., Result]
) -> None:
    store(archive, copy_page(), origin_page(fetched_offset=5))
    _reverse_links_as_an_old_version_stored_them(archive)
    result = invoke("db", "relink", "--db", archive.url)
    assert result.exit_code == 0, result.output
    assert "1 groups, 1 re-pointed" in result.output
    # the credit was read again from the copy's stored HTML
    assert links(archive) == {COPY_URL: (ORIGIN_URL, "credit")}
    assert relink_archive(archive).repointed == 0  # idempotent


def test_db_upgrade_across_0005_relinks_existing_groups(
    archive_url: str, invoke: Callable[..., Result]
) -> None:
    with open_archive(archive_url) as arch:
        store(arch, copy_page(), origin_page(fetched_offset=5))
        _reverse_links_as_an_old_version_stored_them(arch)
        cfg = alembic_config(arch.engine)
        with arch.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0004")
    result = invoke("db", "upgrade", "--db", archive_url)
    assert result.exit_code == 0, result.output
    assert "1 re-pointed to their first publisher" in result.output
    with open_archive(archive_url) as arch:
        assert links(arch) == {COPY_URL: (ORIGIN_URL, "credit")}


def _claim(
    id_: int,
    url: str,
    *,
    published_hours: float | None,
    seen: int,
    credits: tuple[Credit, ...],
    date_source: str = "jsonld",
) -> Claim:
    return Claim(
        id=id_,
        url=url,
        canonical_url=url,
        source=url.split("/")[2],
        site_name=None,
        credits=credits,
        published=None if published_hours is None else PUBLISHED + timedelta(hours=published_hours),
        first_seen=FETCHED + timedelta(minutes=seen),
        date_source=date_source,
    )


@pytest.mark.parametrize(
    ("copy_hours", "origin_hours", "credit", "expected"),
    [
        (0, 0, True, OriginRule.CREDIT),  # the wire's timestamp on both
        (6, 0, True, OriginRule.CREDIT),  # within the tie window the credit decides
        (-6, 0, True, OriginRule.CREDIT),  # even when the copy's clock says earlier
        (6, 0, False, OriginRule.PUBLISHED),  # no credit: the earlier time
        (72, 0, False, OriginRule.PUBLISHED),
        (None, 0, True, OriginRule.CREDIT),  # one date missing
    ],
)
def test_choose_original_rules(
    copy_hours: float | None, origin_hours: float, credit: bool, expected: OriginRule
) -> None:
    credits = (Credit(CreditKind.CANONICAL, url=ORIGIN_URL),) if credit else ()
    copy = _claim(1, COPY_URL, published_hours=copy_hours, seen=0, credits=credits)
    origin = _claim(2, ORIGIN_URL, published_hours=origin_hours, seen=5, credits=())
    for newcomer, incumbent in ((copy, origin), (origin, copy)):
        winner, rule = choose_original(newcomer, incumbent)
        assert (winner.url, rule) == (ORIGIN_URL, expected)


def test_a_guessed_early_date_does_not_beat_a_credit() -> None:
    """A copy dated "2019-01-01" by a year in its text is no earlier publication."""
    copy = _claim(
        1,
        COPY_URL,
        published_hours=-24 * 300,
        seen=0,
        credits=(Credit(CreditKind.CANONICAL, url=ORIGIN_URL),),
        date_source="htmldate",
    )
    origin = _claim(2, ORIGIN_URL, published_hours=0, seen=5, credits=())
    assert choose_original(copy, origin) == (origin, OriginRule.CREDIT)


def test_a_much_earlier_copy_date_beats_a_credit() -> None:
    """Beyond the tie window the publication time is the rule, as documented."""
    copy = _claim(
        1, COPY_URL, published_hours=-72, seen=0, credits=(Credit(CreditKind.LINE, name="x"),)
    )
    origin = _claim(2, ORIGIN_URL, published_hours=0, seen=5, credits=())
    assert choose_original(origin, copy) == (copy, OriginRule.PUBLISHED)


@pytest.mark.parametrize(
    "body",
    [
        "We use cookies to improve your experience. Accept all cookies to continue reading "
        "this article, or manage your consent settings. " * 2,
        "\n".join(f"Headline number {i} of the day" for i in range(30)),
        "Too short to tell a copy from a template.",
        "お使いのブラウザではJavaScriptが無効です。",
    ],
    ids=["cookie-wall", "list-of-headlines", "short", "short-ja"],
)
def test_stubs_lists_and_short_texts_are_not_linkable(body: str) -> None:
    assert not linkable(body)


def test_a_long_japanese_article_is_linkable() -> None:
    sentence = "電気自動車の販売は前年同期比で大きく伸びたと同社は発表した。"
    assert linkable("\n".join(sentence * 3 for _ in range(4)))


def test_two_articles_sharing_a_cookie_wall_are_not_linked(archive: Archive) -> None:
    wall = (
        "We use cookies to improve your experience on our website. Please accept all cookies "
        "to continue, or manage your consent settings in the privacy centre below."
    )
    first = origin_page()
    second = copy_page(credits=[])
    for page in (first, second):
        assert page.article is not None
        page.article.body = wall
    store(archive, first, second)
    assert links(archive) == {}


# The original's page carries a block of other teasers that its extraction keeps; the copy
# republishes the story alone. Jaccard ~0.2, far below the near-duplicate threshold.
PARTIAL_ORIGIN_BODY = BODY + "\n" + "\n".join(prose_text(100 + i, words=100) for i in range(8))


@pytest.mark.parametrize("copy_first", [True, False], ids=["copy-first", "origin-first"])
def test_a_partial_republication_that_credits_the_page_is_linked_in_either_order(
    archive: Archive, copy_first: bool
) -> None:
    origin = origin_page(fetched_offset=5)
    assert origin.article is not None
    origin.article.body = PARTIAL_ORIGIN_BODY
    pages = [copy_page(), origin]
    store(archive, *(pages if copy_first else pages[::-1]))
    assert links(archive) == {COPY_URL: (ORIGIN_URL, "credit")}


def test_a_credit_alone_does_not_link_different_texts(archive: Archive) -> None:
    """A page may cite a source it does not copy: the credited page's text must contain it."""
    origin = origin_page()
    assert origin.article is not None
    origin.article.body = prose_text(200, words=400)
    store(archive, origin, copy_page())
    assert links(archive) == {}


def test_db_upgrade_across_0006_indexes_the_credits_already_stored(
    archive_url: str, invoke: Callable[..., Result]
) -> None:
    """An archive stored under 0005 has claims but no credit keys: the upgrade hashes them, so
    a partial original stored afterwards still finds its earlier crediting copy."""
    with open_archive(archive_url) as arch:
        store(arch, copy_page())
        cfg = alembic_config(arch.engine)
        with arch.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
    result = invoke("db", "upgrade", "--db", archive_url)
    assert result.exit_code == 0, result.output
    with open_archive(archive_url) as arch:
        with arch.session() as session:
            assert session.scalars(select(CreditKey.article_id)).all()
        origin = origin_page(fetched_offset=5)
        assert origin.article is not None
        origin.article.body = PARTIAL_ORIGIN_BODY
        store(arch, origin)
        assert links(arch) == {COPY_URL: (ORIGIN_URL, "credit")}


def test_a_long_text_naming_cookies_and_consent_is_linkable() -> None:
    """The stub terms count only in short texts: a report about a consent law is prose."""
    sentence = (
        "The regulator said the cookie consent rules for connected cars would apply to every "
        "dealer portal, and privacy groups asked drivers to accept nothing by default. "
    )
    assert linkable(sentence * 8)
    assert not linkable(sentence * 2 + "Accept cookies to continue. Subscribe to read on.")


def test_the_writer_passes_the_claim_it_would_read_back(archive: Archive) -> None:
    """The credit search of a new article uses what the writer has in hand; for an article
    stored earlier (re-linking) it reads the same from the archive."""
    page = copy_page()
    assert page.article is not None
    page.article.credits = [
        Credit(CreditKind.LINE, url=f"https://source{i}.example/story", name=f"Source {i}")
        for i in range(10)
    ]
    store(archive, page)
    with archive.session() as session:
        row = session.scalars(select(Article)).one()
        read = linking._read_own_claim(session, row.id)
    assert read == linking.OwnClaim(
        row.url, row.canonical_url, row.word_count, linking.kept_credits(page.article.credits)
    )
    assert len(read.credits) == linking.MAX_CLAIMED_CREDITS
