"""Title rules: site affixes, kickers, and which candidate the visible headline backs.

Every page here is written for the test (generic sites, invented headlines), never a real one.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsarchive.extraction import _title, extract
from newsarchive.extraction.metadata import PageMeta

FETCHED = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
BODY = "".join(
    f"<p>Paragraph {i}: the assembly plant raised its output again this quarter, the union said."
    "</p>"
    for i in range(6)
)


def _page(head: str, top: str, *, title_tag: str = "Plant output rises") -> str:
    return (
        f"<html lang='en'><head><title>{title_tag}</title>{head}</head><body><article>"
        f"{top}{BODY}</article></body></html>"
    )


@pytest.mark.parametrize(
    ("title_tag", "site", "expected"),
    [
        # a site name holding a separator itself, and a title with two site parts
        (
            "Pour la retraite, un archaïsme | Revue Nord - Analyse et Critique",
            "Revue Nord - Analyse et Critique",
            "Pour la retraite, un archaïsme",
        ),
        (
            "Output rises again - River Gazette | rivergazette",
            "River Gazette",
            "Output rises again",
        ),
        # box-drawing and full-width bars are separators too
        ("Produkttester werden │ Marktplatz Nord", "Marktplatz Nord", "Produkttester werden"),
        ("新型電池の工場が稼働 ｜ 川新聞", "川新聞", "新型電池の工場が稼働"),
        # a site prefix
        ("River Gazette: Output rises again", "River Gazette", "Output rises again"),
    ],
)
def test_site_affixes_in_any_position(title_tag: str, site: str, expected: str) -> None:
    assert _title(PageMeta(title_tag=title_tag), None, site, "https://paper.example/a") == expected


def test_printed_h1_beats_metadata_variants_that_no_headline_backs() -> None:
    """og:title, JSON-LD and <title> agree on an SEO wording; the page prints another."""
    page = PageMeta(
        meta={"og:title": ["Banana (Musa paradisica)"]},
        title_tag="Banana (Musa paradisica)",
        h1=["Banana, bananas, plantain (Musa paradisica)"],
    )
    assert _title(page, None, "Fruit Lexicon", "https://lexicon.example/banana") == (
        "Banana, bananas, plantain (Musa paradisica)"
    )


def test_unrelated_or_site_h1_is_no_headline() -> None:
    """An <h1> naming the site, or sharing no words with the metadata, does not win."""
    page = PageMeta(
        meta={"og:title": ["Minions painted with stencils and rollers"]},
        h1=["River Crafts", "Opinion"],
    )
    title = _title(page, None, "River Crafts", "https://rivercrafts.example/minions")
    assert title == "Minions painted with stencils and rollers"
    page = PageMeta(meta={"og:title": ["Minions painted with stencils"]}, h1=["Our contact team"])
    assert _title(page, None, None, "https://crafts.example/m") == "Minions painted with stencils"


def test_h1_with_a_kicker_gives_the_metadata_headline_it_ends_with() -> None:
    page = PageMeta(
        meta={"og:title": ["Drivers demand a seat at the table"]},
        h1=["Minority in the north - Drivers demand a seat at the table"],
    )
    assert _title(page, None, None, "https://news.example/x") == (
        "Drivers demand a seat at the table"
    )


def test_kicker_element_inside_the_h1_is_dropped_when_no_metadata_joins_it() -> None:
    """The <h1> marks its kicker as an element; the metadata uses another kicker."""
    head = '<meta property="og:title" content="Storm warning: «The dykes will hold this winter»">'
    top = (
        '<h1><span class="article-title__overline">Coastal floods</span>'
        '<span class="h-offscreen" aria-hidden="true"> - </span>'
        "<span>«The dykes will hold this winter»</span></h1>"
    )
    article = extract(_page(head, top), "https://news.example/dykes", FETCHED)
    assert article is not None
    assert article.title == "«The dykes will hold this winter»"


def test_kicker_element_stays_when_the_metadata_title_joins_it() -> None:
    """The publisher's own og:title is "Kicker: Headline": the kicker is part of its title."""
    head = '<meta property="og:title" content="Coastal floods: The dykes will hold this winter">'
    top = (
        '<h1><span class="kicker">Coastal floods</span><span>: </span>'
        "<span>The dykes will hold this winter</span></h1>"
    )
    article = extract(_page(head, top), "https://news.example/dykes2", FETCHED)
    assert article is not None
    assert article.title == "Coastal floods: The dykes will hold this winter"


def test_banner_h1_repeated_at_the_end_of_the_title_tag_is_the_site() -> None:
    """A small site prints its name as <h1> and ends every <title> with it."""
    page = PageMeta(title_tag="Basic muffin dough : Muffin Recipes", h1=["Muffin Recipes"])
    assert _title(page, "Muffin Recipes", None, "https://muffins.example/basic") == (
        "Basic muffin dough"
    )
    # a one-word section before the headline is no page title: the <h1> is the headline
    page = PageMeta(
        title_tag="News - From the ghetto to the masters", h1=["From the ghetto to the masters"]
    )
    assert _title(page, "From the ghetto to the masters", None, "https://golf.example/n") == (
        "From the ghetto to the masters"
    )


def test_first_visible_headline_decides_between_agreeing_candidates() -> None:
    """trafilatura's title is a sidebar heading; the <title> is the first headline printed."""
    page = PageMeta(
        title_tag="In the footsteps of a champion",
        headlines=["In the footsteps of a champion", "Partners", "Contact"],
    )
    assert _title(page, "Contact", None, "https://club.example/a") == (
        "In the footsteps of a champion"
    )


def test_h1_equal_to_og_title_beats_a_shorter_headline_element() -> None:
    """og:title and the <h1> carry the kicker; JSON-LD and a headline element do not."""
    page = PageMeta(
        meta={"og:title": ["Usage-based pay: Musicians demand a new streaming model"]},
        h1=["Usage-based pay: Musicians demand a new streaming model"],
        headlines=["Musicians demand a new streaming model"],
    )
    assert _title(page, None, None, "https://paper.example/s") == (
        "Usage-based pay: Musicians demand a new streaming model"
    )


def test_h1_inside_the_title_tag_only_when_it_agrees_with_the_metadata_title() -> None:
    page = PageMeta(
        meta={"og:title": ["Saving for retirement with your employer's help"]},
        title_tag="Company pensions (CP) - When is it worth it? - Money Guide",
        h1=["Company pensions"],
    )
    assert _title(page, None, "Money Guide", "https://money.example/cp") == (
        "Saving for retirement with your employer's help"
    )


def test_h1_that_a_longer_metadata_title_contains_word_for_word() -> None:
    page = PageMeta(
        meta={"og:title": ["Run Linux on Mac - Virtual Desk 15 Virtual Machine for Mac"]},
        h1=["Virtual Desk 15 for Mac"],
    )
    assert _title(page, None, None, "https://vendor.example/desk") == "Virtual Desk 15 for Mac"


def test_lone_headline_element_without_h1_or_metadata() -> None:
    page = PageMeta(
        title_tag="Gas prices | energy.example",
        headlines=["Energy crisis: relief and rights at a glance"],
    )
    assert _title(page, "Gas prices", None, "https://energy.example/n") == (
        "Energy crisis: relief and rights at a glance"
    )
    # a breadcrumb trail is no headline
    page = PageMeta(title_tag="Apprenticeships", headlines=["Home / News / Apprenticeships"])
    assert _title(page, None, None, "https://school.example/a") == "Apprenticeships"


def test_site_prefix_with_a_colon_only_when_it_is_the_name_itself() -> None:
    site = "Cup preview: Stans looks forward to a derby - Handball Example"
    page = PageMeta(title_tag="Cup preview: Stans looks forward to a derby")
    assert _title(page, None, site, "https://handball.example/a") == (
        "Cup preview: Stans looks forward to a derby"
    )
