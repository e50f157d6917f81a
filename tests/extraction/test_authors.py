"""Author rules: bylines in many shapes, user names, organisations as printed, the site itself.

Every page here is written for the test (generic sites, invented people), never a real one.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support.markup import jsonld

from newsarchive.extraction import extract
from newsarchive.extraction.authors import split_authors

FETCHED = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
BODY = "".join(
    f"<p>Paragraph {i}: the assembly plant raised its output again this quarter, the union said."
    "</p>"
    for i in range(6)
)


def _page(head: str = "", top: str = "") -> str:
    return (
        "<html lang='en'><head><title>Plant output rises</title>"
        f"{head}</head><body><article><h1>Plant output rises</h1>{top}{BODY}</article></body></html>"
    )


def _credits(html: str, url: str = "https://news.example/a") -> tuple[list[str], list[str]]:
    article = extract(html, url, FETCHED)
    assert article is not None
    return article.authors, article.organisations


@pytest.mark.parametrize(
    ("raw", "people", "orgs"),
    [
        # agencies and desks as the page prints them
        ("By Associated Press", [], ["Associated Press"]),
        ("Jane Roe, The Associated Press", ["Jane Roe"], ["The Associated Press"]),
        ("Staff and news service reports", [], ["Staff and news service reports"]),
        ("red, wien.example.at/Agenturen", [], ["red", "wien.example.at", "Agenturen"]),
        ("Tom Brandt/SP-X", ["Tom Brandt"], ["SP-X"]),
        ("Example Energie AG", [], ["Example Energie AG"]),
        ("Bund der Leser e.V.", [], ["Bund der Leser e.V."]),
        ("Autor: www.example-blog.com", [], ["www.example-blog.com"]),
        # what is no person
        ("Landesanstalt für Wald und Forst - LWF", [], []),
        ("jdoe said, on August 3, 2019 at 3:12 pm", [], []),
        # WordPress author links in several languages
        ("View all posts by Nora Quist", ["Nora Quist"], []),
        ("Zeige alle Beiträge von Petra Lind", ["Petra Lind"], []),
        ("Ein Artikel von Pia Sommer", ["Pia Sommer"], []),
        # particles stay in names
        ("Por José de la Fuente y Ana dos Santos", ["José de la Fuente", "Ana dos Santos"], []),
    ],
)
def test_split_authors(raw: str, people: list[str], orgs: list[str]) -> None:
    assert split_authors([raw]) == (people, orgs)


def test_user_names_only_from_fields_that_hold_an_author() -> None:
    assert split_authors(["jdoe42"], handles=True) == (["jdoe42"], [])
    assert split_authors(["jdoe42"]) == ([], [])  # a classed box: might be any label
    # a slug beside the same name is that name again
    assert split_authors(["Jane Doe", "jane-doe"], handles=True) == (["Jane Doe"], [])
    assert split_authors(["admin"], handles=True) == ([], ["admin"])


def test_rel_author_user_name_is_credited() -> None:
    top = (
        '<div class="meta"><span>2 May 2024</span> by <a rel="author" href="/u/qx">qxfox</a></div>'
    )
    assert _credits(_page(top=top)) == (["qxfox"], [])


@pytest.mark.parametrize(
    "top",
    [
        '<address>By <a href="/staff/nq"> Nora Quist </a></address>',
        '<div><span class="x1">By</span><span><a href="/staff/nq">Nora Quist</a></span></div>',
        '<div class="meta"><h5>Autor: </h5>Nora Quist<br></div>',
        '<div class="info">Ein Artikel von <strong>Nora Quist</strong> | 02.05.2024</div>',
        '<div><span class="date">2 May</span> <span>von</span> <span><a>Nora Quist</a></span></div>',
    ],
)
def test_label_printed_apart_from_the_name(top: str) -> None:
    """The byline word is a text node of its own; the name is the next element or text."""
    assert _credits(_page(top=top)) == (["Nora Quist"], [])


def test_site_name_in_any_shape_is_no_person() -> None:
    """JSON-LD credits the site ("example.is", "River Gazette" on rivergazette.example)."""
    head = jsonld(headline="Plant output rises", author={"@type": "Person", "name": "mbl.example"})
    assert _credits(_page(head), "https://mbl.example/a") == ([], ["mbl.example"])
    head = jsonld(headline="Plant output rises", author="River Gazette")
    top = '<p class="byline">Nora Quist | Published 3 hours ago</p>'
    # once a person is named, the site is no credit of its own
    assert _credits(_page(head, top), "https://www.rivergazette.example/a") == (["Nora Quist"], [])


def test_institution_in_author_meta_yields_to_the_person() -> None:
    head = '<meta name="author" content="Landesanstalt für Wald und Forst - LWF">'
    top = '<span itemprop="author">Jakob Hamm</span>'
    assert _credits(_page(head, top)) == (["Jakob Hamm"], [])


@pytest.mark.parametrize(
    ("raw", "people", "orgs"),
    [
        # the outlet a byline names after "for", in several languages
        (
            "By Ann Holt And Ben Marsh For The Sunday Example",
            ["Ann Holt", "Ben Marsh"],
            ["The Sunday Example"],
        ),
        ("Anna Berg für die Wochenzeitung", ["Anna Berg"], ["die Wochenzeitung"]),
        ("Cooking for beginners", ["Cooking"], []),  # a lower-case word is no outlet
        # an editor's initials beside the agency; a role or a lone letter is nobody
        ("det/dpa", ["det"], ["dpa"]),
        ("Mathias Holm, Journalist", ["Mathias Holm"], []),
        ("Bund der Leser e V", ["Bund der Leser"], []),
    ],
)
def test_split_authors_outlets_initials_roles(raw: str, people: list[str], orgs: list[str]) -> None:
    assert split_authors([raw]) == (people, orgs)


def test_one_author_meta_value_completes_json_ld() -> None:
    """JSON-LD names the first of two authors; the author meta lists both in one value."""
    head = jsonld(headline="Plant output rises", author={"@type": "Person", "name": "Ada Lind"})
    head += '<meta name="author" content="Ada Lind,Bo Strand">'
    assert _credits(_page(head)) == (["Ada Lind", "Bo Strand"], [])
    # several meta values are not one list: a company beside the person is no co-author
    head = jsonld(headline="Plant output rises", author={"@type": "Person", "name": "Ada Lind"})
    head += '<meta name="author" content="Ada Lind"><meta name="author" content="Example Media">'
    assert _credits(_page(head)) == (["Ada Lind"], [])


def test_agency_in_the_byline_is_not_reread_from_trafilaturas_byline() -> None:
    top = '<p class="byline">red, wien.example.at/Agenturen</p>'
    assert _credits(_page(top=top), "https://wien.example.at/s/1") == (
        [],
        ["red", "wien.example.at", "Agenturen"],
    )
