"""One regression test per field rule: titles, authors, dates and clean strings.

Every page here is written for the test (generic sites, invented people), never a real one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from support.markup import jsonld

from newsarchive.archive.models import Article as ArticleRow
from newsarchive.archive.store import save_page
from newsarchive.extraction import _published, _title, extract
from newsarchive.extraction.authors import split_authors
from newsarchive.extraction.dates import (
    is_update_line,
    local_day,
    local_isoformat,
    local_offset,
    shift_to_day,
    url_day,
    visible_date,
)
from newsarchive.extraction.metadata import PageMeta
from newsarchive.extraction.text import TITLE_MAX_CHARS, clean_line, clean_text, clean_url
from newsarchive.items import FetchedPage

if TYPE_CHECKING:
    from newsarchive.archive import Archive

FETCHED = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
BODY = "".join(
    f"<p>Paragraph {i}: the assembly plant raised its output again this quarter, the union said."
    "</p>"
    for i in range(6)
)


def _page(head: str = "", top: str = "", *, title_tag: str = "Plant output rises") -> str:
    return (
        f"<html lang='en'><head><title>{title_tag}</title>{head}</head><body><article>"
        f"{top}{BODY}</article></body></html>"
    )


# titles


def test_title_entities_in_metadata_are_decoded() -> None:
    head = jsonld(headline="Gr&ouml;&szlig;er &amp;amp; schneller: the plant&#8217;s new line")
    article = extract(_page(head), "https://news.example/a", FETCHED)
    assert article is not None
    assert article.title == "Größer & schneller: the plant’s new line"


def test_title_agreeing_with_the_visible_headline_wins() -> None:
    """The SEO headline in JSON-LD loses to the og:title that the page prints as its <h1>."""
    head = jsonld(headline="Plant output: everything you need to know") + (
        '<meta property="og:title" content="Output at the river plant rises for a third month">'
    )
    top = "<h1>Output at the river plant rises for a third month</h1>"
    article = extract(_page(head, top), "https://news.example/b", FETCHED)
    assert article is not None
    assert article.title == "Output at the river plant rises for a third month"


def test_title_keeps_the_printed_punctuation() -> None:
    head = '<meta property="og:title" content="Plant output rises - and so do wages">'
    top = "<h1>Plant output rises – and so do wages</h1>"
    article = extract(_page(head, top), "https://news.example/c", FETCHED)
    assert article is not None
    assert article.title == "Plant output rises – and so do wages"


def test_title_drops_a_kicker_when_the_h1_is_the_headline() -> None:
    head = '<meta property="og:title" content="Labour talks: Plant output rises for a third month">'
    top = "<h1>Plant output rises for a third month</h1>"
    article = extract(_page(head, top), "https://news.example/d", FETCHED)
    assert article is not None
    assert article.title == "Plant output rises for a third month"


def test_title_site_suffix_goes_but_inner_dashes_stay() -> None:
    page = PageMeta(title_tag="Output rises - and so do wages | River Gazette")
    title = _title(page, None, "River Gazette", "https://rivergazette.example/x")
    assert title == "Output rises - and so do wages"


def test_title_keeps_a_closing_guillemet() -> None:
    page = PageMeta(title_tag="Le syndicat met en garde sur « la gravité de la situation »")
    assert _title(page, None, None, "https://journal.example/x") == (
        "Le syndicat met en garde sur « la gravité de la situation »"
    )


# authors


@pytest.mark.parametrize(
    ("raw", "people"),
    [
        ("Jane Doe am 12.03.2024", ["Jane Doe"]),
        ("Par Jean Dupont le 3 mars 2024", ["Jean Dupont"]),
        ("Tom Baker Fr, 12.04.2024", ["Tom Baker"]),
        ("Sara Lind Stand: 01.02.2022", ["Sara Lind"]),
        ("Zum Profil von Jane Doe", ["Jane Doe"]),
        ("Interview: Julia Brandt", ["Julia Brandt"]),
        ("Gadget-Experte Robin Meier", ["Robin Meier"]),
        ("Perry Long Jr.", ["Perry Long Jr."]),
        ("Juan Carlos Ruiz C.", ["Juan Carlos Ruiz C."]),
        ("Max Muster says:", []),
        ("Name *", []),
        ("No Author", []),
        ("Foto: Bild: Jane Doe", []),
        ("Nora Quist (Berlin", ["Nora Quist"]),
        ("Capital Von Jemima Holt", ["Jemima Holt"]),
        ("~ Cem Basar", ["Cem Basar"]),
        ("Matthias herrmeister", ["Matthias"]),
        ("Adam Aron Gazette Staff", ["Adam Aron"]),
        ("Twitter Facebook", []),
    ],
)
def test_split_authors_rules(raw: str, people: list[str]) -> None:
    assert split_authors([raw])[0] == people


def test_publisher_named_as_author_is_an_organisation() -> None:
    """A JSON-LD author equal to the site's name yields to the visible byline's person."""
    head = (
        jsonld(
            headline="Plant output rises",
            author={"@type": "Organization", "name": "River Gazette"},
            publisher={"@type": "Organization", "name": "River Gazette"},
        )
        + '<meta property="og:site_name" content="River Gazette">'
    )
    top = '<h1>Plant output rises</h1><p class="byline">By Nora Quist</p>'
    article = extract(_page(head, top), "https://rivergazette.example/a", FETCHED)
    assert article is not None
    assert article.authors == ["Nora Quist"]
    assert article.organisations == []  # the site itself is no credit once a person is named


def test_byline_from_written_by_meta_and_from_a_prefixed_line() -> None:
    head = (
        '<meta name="twitter:label1" content="Geschrieben von">'
        '<meta name="twitter:data1" content="Karla Stern">'
    )
    article = extract(_page(head, "<h1>Plant output rises</h1>"), "https://blog.example/a")
    assert article is not None
    assert article.authors == ["Karla Stern"]
    top = '<h1>Plant output rises</h1><div class="teaser-cat"><span>von Andreas Kurz</span></div>'
    article = extract(_page("", top), "https://news.example/b")
    assert article is not None
    assert article.authors == ["Andreas Kurz"]


def test_one_word_domain_author_is_not_a_person() -> None:
    head = jsonld(headline="Plant output rises", author={"name": "RIVERGAZETTE.example"})
    article = extract(_page(head, "<h1>Plant output rises</h1>"), "https://rivergazette.example/b")
    assert article is not None
    assert article.authors == []
    assert article.organisations == ["RIVERGAZETTE.example"]


# dates


def test_utc_timestamp_takes_the_day_of_the_visible_dateline() -> None:
    """23:01Z is the next morning where the page was published: dateline and URL say so."""
    head = jsonld(headline="Plant output rises", datePublished="2024-05-01T23:01:00Z")
    top = '<h1>Plant output rises</h1><span class="date">2 May 2024</span>'
    url = "https://news.example/2024/05/02/plant-output"
    article = extract(_page(head, top), url, FETCHED)
    assert article is not None
    assert article.published is not None
    assert article.published.date() == date(2024, 5, 2)
    assert article.published == datetime(2024, 5, 1, 23, 1, tzinfo=UTC)  # the same instant
    assert article.date_source == "jsonld"


def test_stated_local_time_is_not_moved_by_a_dateline_alone() -> None:
    head = jsonld(headline="Plant output rises", datePublished="2024-05-01T23:01:00+02:00")
    top = '<h1>Plant output rises</h1><span class="date">2 May 2024</span>'
    article = extract(_page(head, top), "https://news.example/plant-output", FETCHED)
    assert article is not None
    assert article.published == datetime(2024, 5, 1, 23, 1, tzinfo=timezone(timedelta(hours=2)))


def test_update_dateline_is_not_a_publication_date() -> None:
    page = PageMeta(datelines=["Aktualisiert: 11.04.2024, 10:27", "Publiziert: 03.04.2024"])
    value, source, _ = _published(page, None, ("de", "en"), FETCHED, "https://news.example/x")
    assert value is not None
    assert value.date() == date(2024, 4, 3)
    assert source == "byline"


def test_visible_dateline_beats_htmldate_and_relative_dateline_does_not() -> None:
    page = PageMeta(datelines=["Published 3 April 2024"])
    value, source, _ = _published(page, "2024-04-09", ("en",), FETCHED, "https://news.example/x")
    assert (value.date() if value else None, source) == (date(2024, 4, 3), "byline")
    page = PageMeta(datelines=["2 hours ago"])
    value, source, _ = _published(page, "2024-04-09", ("en",), FETCHED, "https://news.example/x")
    assert (value.date() if value else None, source) == (date(2024, 4, 9), "htmldate")


def test_url_day_agreeing_with_htmldate_overrules_a_republished_date() -> None:
    page = PageMeta(meta={"article:published_time": ["2024-04-17T18:28:00+02:00"]})
    url = "https://blog.example/home/2021/7/12/summer-notes"
    value, source, _ = _published(page, "2021-07-12", ("en",), FETCHED, url)
    assert (value.date() if value else None, source) == (date(2021, 7, 12), "url")


def test_date_helpers() -> None:
    assert url_day("https://n.example/2024/5/2/x") == date(2024, 5, 2)
    assert url_day("https://n.example/2024/13/2/x") is None
    assert url_day("https://n.example/a-2024-story") is None
    assert is_update_line("Mis à jour le 3 mars 2024")
    assert is_update_line("Updated: May 2, 2024")
    assert not is_update_line("Publié le 3 mars 2024")
    shifted = shift_to_day(datetime(2024, 5, 1, 23, 1, tzinfo=UTC), date(2024, 5, 2))
    assert shifted is not None
    assert shifted.utcoffset() == timedelta(hours=1)
    assert shift_to_day(datetime(2024, 5, 1, 12, tzinfo=UTC), date(2024, 5, 4)) is None
    utc = datetime(2024, 4, 25, 22, 30, tzinfo=UTC)
    assert local_isoformat(utc, 120) == "2024-04-26T00:30:00+02:00"
    assert local_isoformat(utc, None) == "2024-04-25T22:30:00Z"
    assert local_isoformat(None, 60) is None
    assert local_day(utc, 120) == date(2024, 4, 26)
    assert local_day(utc, -300) == date(2024, 4, 25)


def _dated(head: str, top: str, url: str = "https://news.example/plant-output", lang: str = "en"):
    """extract() on a page with ``top`` printed between the headline and the body."""
    html = _page(head, "<h1>Plant output rises</h1>" + top).replace("lang='en'", f"lang='{lang}'")
    article = extract(html, url, FETCHED)
    assert article is not None
    return article


def test_url_slug_counting_something_is_no_day() -> None:
    assert url_day("https://blog.example/2024/04/3-questions-for-the-union/") is None
    assert url_day("https://blog.example/2024/04/26-union-talks") == date(2024, 4, 26)
    assert url_day("https://n.example/news/2024-04-26-union-talks") == date(2024, 4, 26)
    assert url_day("https://n.example/2024/04/2026-plan") is None


@pytest.mark.parametrize(
    ("line", "locale", "expected"),
    [
        ("3/5/2024 22:41", "es", datetime(2024, 5, 3, 22, 41, tzinfo=UTC)),
        ("3/5/2024 22:41", "en-US", datetime(2024, 3, 5, 22, 41, tzinfo=UTC)),
        ("25/4/2024", "en", datetime(2024, 4, 25, tzinfo=UTC)),  # no 25th month
        ("Publicado el 03/05/2024 a las 22h03", "es", datetime(2024, 5, 3, 22, 3, tzinfo=UTC)),
        ("07.11.23 - 10:11 |", "de", datetime(2023, 11, 7, 10, 11, tzinfo=UTC)),
        ("4. 2. 2024.", "de", datetime(2024, 2, 4, tzinfo=UTC)),
        ("2024. 06. 04. 11:27", "hu", datetime(2024, 6, 4, 11, 27, tzinfo=UTC)),
        ("20. März 2024 - 15:00 Uhr", "de", datetime(2024, 3, 20, 15, tzinfo=UTC)),
        ("Published 3 May 2024, updated 5 May 2024", "en", datetime(2024, 5, 3, tzinfo=UTC)),
        ("Last updated 4 May 2024", "en", None),
        ("Aktionszeitraum: 21.10.2023 – 27.10.2023", "de", None),
        ("Wochenende in Wien 12.10. - 15.10.2023", "de", None),
        ("Arbeiter vor dem Werkstor der Fabrik bei der Kundgebung, 24. April 2024", "de", None),
        ("Lesedauer: 5 Minuten", "de", None),
        ("vor 2 Stunden", "de", None),
    ],
)
def test_visible_dateline_reading(line: str, locale: str, expected: datetime | None) -> None:
    read = visible_date(line, locale)
    assert (read[0] if read else None) == expected


def test_ambiguous_numeric_dateline_keeps_its_other_reading() -> None:
    read = visible_date("05/06/2024", "fr")
    assert read is not None
    assert read[0].date() == date(2024, 6, 5)
    assert read[1] is not None
    assert read[1].date() == date(2024, 5, 6)
    head = jsonld(headline="Plant output rises", datePublished="2024-05-06T09:00:00+02:00")
    article = _dated(head, "<span>05/06/2024</span>", lang="fr")
    assert article.published is not None
    assert article.published.date() == date(2024, 5, 6)  # the other reading agrees: no conflict


def test_update_wording_in_many_languages() -> None:
    for line in (
        "Mise à jour le 3 mars 2024",
        "Aggiornato il 3 marzo 2024",
        "Actualizada el 3 de marzo de 2024",
        "Atualizada em 3 de março de 2024",
        "Zuletzt geändert am 3. März 2024",
        "Bijgewerkt op 3 maart 2024",
        "Aktualizováno 3. 3. 2024",
        "Güncelleme: 03.03.2024",
        "Оновлено 03.03.2024",
        "更新日 2024年3月3日",
        "업데이트 2024.03.03",
    ):
        assert is_update_line(line), line


def test_headline_dateline_beats_htmldate_among_teaser_dates() -> None:
    """The line under the headline dates the article; classed dates further down are teasers."""
    teasers = "".join(
        f'<div class="teaser"><span class="date">{d}.04.2024</span><a href="/t{d}">More</a></div>'
        for d in (12, 14)
    )
    html = _page(
        "",
        '<h1>Plant output rises</h1><span class="byline__created-date">07 April, 2024</span>',
    ).replace("</article>", "</article>" + teasers)
    article = extract(html.replace("lang='en'", "lang='de'"), "https://n.example/p", FETCHED)
    assert article is not None
    assert article.published is not None
    assert article.published.date() == date(2024, 4, 7)
    assert article.date_source == "byline"


def test_republished_page_shows_its_modified_day() -> None:
    """A dateline without updated-at wording on the dateModified day: the page presents that
    day as its date (republished); a dateline alone does not overrule datePublished."""
    head = jsonld(
        headline="Plant output rises",
        datePublished="2022-01-01T11:00:00Z",
        dateModified="2024-04-01T10:00:00Z",
    )
    article = _dated(head, "<time>01.04.2024, 12:00</time>", lang="de")
    assert article.published is not None
    assert article.published.isoformat() == "2024-04-01T12:00:00+02:00"
    assert article.date_source == "byline"
    head = jsonld(headline="Plant output rises", datePublished="2022-01-01T11:00:00Z")
    article = _dated(head, "<p>01.04.2024, 12:00</p>", lang="de")
    assert article.published == datetime(2022, 1, 1, 11, tzinfo=UTC)


def test_printed_time_element_is_no_second_witness() -> None:
    """<time> is usually the printed dateline itself: together they do not outvote JSON-LD."""
    head = jsonld(headline="Plant output rises", datePublished="2024-05-03T15:30:00Z")
    top = '<time datetime="2024-03-27T07:08:52+00:00">Mär 27, 2024 um 12:08</time>'
    article = _dated(head, top, lang="de")
    assert article.published == datetime(2024, 5, 3, 15, 30, tzinfo=UTC)
    assert article.date_source == "jsonld"


def test_generic_date_meta_yields_to_the_visible_dateline() -> None:
    head = '<meta name="date" content="2024-1-26T14:32:06+02:00">'
    article = _dated(head, '<time class="meta">21.01.2024 - 13:30</time>', lang="de")
    assert article.published is not None
    assert article.published.date() == date(2024, 1, 21)
    # found by class elsewhere on the page (no headline above it), the dateline still wins
    html = (
        "<html lang='de'><head><title>Plant output rises</title>"
        f'{head}</head><body><div class="news-single-timedata">05.01.2024 - Redaktion: '
        f"Jane Doe</div>{BODY}</body></html>"
    )
    article = extract(html, "https://n.example/p", FETCHED)
    assert article is not None
    assert article.published is not None
    assert article.published.date() == date(2024, 1, 5)
    assert article.date_source == "byline"


def test_another_structured_date_on_the_printed_day_wins() -> None:
    head = (
        '<meta itemprop="datePublished" content="2023-12-14T15:41:07+01:00">'
        '<meta name="DC.date.issued" content="2024-02-04T15:33:00+01:00">'
    )
    article = _dated(head, '<strong class="author">04.02.2024 | 15:33 Uhr |</strong>', lang="de")
    assert article.published is not None
    assert article.published.isoformat() == "2024-02-04T15:33:00+01:00"
    assert article.date_source == "meta"


def test_printed_clock_gives_the_publishers_offset_of_a_utc_timestamp() -> None:
    """00:25:56 GMT printed as 21:25 the evening before: the instant, in the publisher's -03:00."""
    head = jsonld(headline="Plant output rises", datePublished="Sat, 04 May 2024 00:25:56 GMT")
    article = _dated(head, "<span>3 de mayo de 2024</span><span>21:25</span>", lang="es")
    assert article.published is not None
    assert article.published.isoformat() == "2024-05-03T21:25:56-03:00"
    assert article.date_source == "jsonld"
    head = jsonld(headline="Plant output rises", datePublished="Sat, 04 May 2024 02:41:00 GMT")
    article = _dated(head, "<span>3/5/2024 22:41</span>", lang="es")  # day first in Spanish
    assert article.published is not None
    assert article.published.isoformat() == "2024-05-03T22:41:00-04:00"


def test_local_offset_reads_a_clock_without_seconds_to_the_minute() -> None:
    utc = datetime(2024, 5, 4, 0, 25, 56, tzinfo=UTC)
    local = local_offset(
        utc, [("3 de mayo de 2024 21:25", datetime(2024, 5, 3, 21, 25, tzinfo=UTC))]
    )
    assert local.utcoffset() == timedelta(hours=-3)
    assert local == utc
    # with seconds, they must agree too
    same = local_offset(utc, [("2024-05-03 21:25:00", datetime(2024, 5, 3, 21, 25, tzinfo=UTC))])
    assert same.utcoffset() == timedelta(0)


def test_teaser_dates_of_a_list_do_not_date_the_article() -> None:
    """Further values of one meta key, and a line under the headline on the day of a later
    <time> of a list, are teasers'."""
    head = (
        '<meta itemprop="datePublished" content="2024-04-19">'
        '<meta itemprop="datePublished" content="2024-04-16">'
    )
    article = _dated(head, '<span class="teaser-date">16. April 2024</span>', lang="de")
    assert article.published is not None
    assert article.published.date() == date(2024, 4, 19)
    times = "".join(
        f'<time datetime="{d}">{d}</time>'
        for d in ("2024-04-12 12:22", "2024-03-10 11:05", "2024-03-04 10:02")
    )
    article = _dated("", "<p>10.03.2024 11:05</p>" + times, lang="de")
    assert article.published is not None
    assert article.published.date() == date(2024, 4, 12)


# clean strings


def test_clean_helpers() -> None:
    assert clean_text("a\x00b\x07c\ud800d\u200be\ufeff\u00adf") == "abcdef"
    assert clean_text("قال\u200cها 👩\u200d🔧") == "قال\u200cها 👩\u200d🔧"  # joiners kept
    assert clean_line("&#0;Plant&#xD800; output&nbsp;rises") == "Plant output rises"
    assert clean_line(" \x00 ") is None
    assert len(clean_line("x" * 10_000, TITLE_MAX_CHARS) or "") == TITLE_MAX_CHARS
    assert clean_url("https://n.example/a\x00b c") == "https://n.example/abc"
    assert clean_url("https://n.example/" + "a" * 5000) is None


HOSTILE = (
    "<html><head><title>T\x00itle\x01 with\u200b junk&#0; &#xD800;"
    + "x" * 50_000
    + "</title>"
    + '<meta name="author" content="Jane\x00 Doe&#x0;">'
    + '<meta name="description" content="desc\x00ription">'
    + '<meta property="og:image" content="https://h.example/i\x00mg.jpg">'
    + '<link rel="canonical" href="https://h.example/'
    + "p" * 5000
    + '">'
    + "</head><body><article><h1>Hostile\x00 page</h1>"
    + "".join(
        f"<p>Para\x00graph {i} with a\x07 bell, \u200bzero width and \ud800 half.</p>"
        for i in range(6)
    )
    + "</article></body></html>"
)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_hostile_page_gives_clean_strings() -> None:
    article = extract(HOSTILE, "https://h.example/story", FETCHED)
    assert article is not None
    for name in article.__slots__:  # type: ignore[attr-defined]
        for text in _strings(getattr(article, name)):
            assert clean_text(text) == text, name
    assert article.title is not None
    assert len(article.title) <= TITLE_MAX_CHARS
    assert len(article.canonical_url) <= 2000
    assert article.authors == ["Jane Doe"]


def test_hostile_page_is_stored_on_every_backend(archive: Archive) -> None:
    """PostgreSQL refuses NUL and lone surrogates; extraction must never hand it one."""
    article = extract(HOSTILE, "https://h.example/story", FETCHED)
    assert article is not None
    page = FetchedPage(
        url="https://h.example/story",
        requested_url="https://h.example/story",
        status=200,
        body=HOSTILE.encode("utf-8", "surrogatepass"),  # raw bytes go to the capture, compressed
        fetched_at=FETCHED,
        source="hostile",
        article=article,
    )
    with archive.session() as session:
        result = save_page(session, page)
        assert result.status == "new"
    with archive.session() as session:
        row = session.scalars(select(ArticleRow)).one()
        assert row.title == article.title
        assert row.body.startswith("Paragraph 0 with a bell, zero width and half.")


def test_datelines_on_several_days_are_teasers_and_a_clock_is_no_date() -> None:
    page = PageMeta(datelines=["Published 02.05.2024", "Published 29.04.2024"])
    value, source, _ = _published(page, "2024-04-23", ("en",), FETCHED, "https://news.example/x")
    assert (value.date() if value else None, source) == (date(2024, 4, 23), "htmldate")
    page = PageMeta(datelines=["Aktuelle Zeit: 10.05.2024, 12:18"])
    value, source, _ = _published(page, "2009-01-21", ("de",), FETCHED, "https://forum.example/t")
    assert (value.date() if value else None, source) == (date(2009, 1, 21), "htmldate")


def test_time_elements_on_several_days_yield_to_the_dateline() -> None:
    """<time> of comments on three days: the visible dateline dates the article."""
    page = PageMeta(
        time_published=["2024-04-03T10:18:46Z", "2024-04-08T19:00:00Z", "2024-04-08T16:35:49Z"],
        itemprop_published=["2024-04-22T07:30:29Z", "2024-04-20T19:01:28Z"],
        datelines=["Publié le 29 mars 2024"],
    )
    value, source, _ = _published(page, None, ("fr", "en"), FETCHED, "https://n.example/x")
    assert (value.date() if value else None, source) == (date(2024, 3, 29), "byline")
    page.datelines = []
    value, source, _ = _published(page, None, ("fr", "en"), FETCHED, "https://n.example/x")
    assert (value.date() if value else None, source) == (date(2024, 4, 3), "microdata")
