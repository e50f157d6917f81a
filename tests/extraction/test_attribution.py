"""Credits a page gives to another publisher, read from pages written like syndication partners'."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from newsarchive.extraction.attribution import find_credits
from newsarchive.items import Credit, CreditKind

URL = "https://wire-digest.example/stories/0042-plant-opens.html"
ORIGIN = "https://harbour-herald.example/business/plant-opens"


def credits(body: str, head: str = "") -> list[Credit]:
    page = f"<html><head>{head}</head><body><article>{body}</article></body></html>"
    return find_credits(lxml_html.document_fromstring(page), URL)


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("Originally published by <a href='{o}'>Harbour Herald</a>.", "Harbour Herald"),
        ("Source: <a href='{o}'>harbour-herald.example</a>", "harbour-herald.example"),
        ("Quelle: <a href='{o}'>Hafenblatt</a>", "Hafenblatt"),
        ("Fonte: <a href='{o}'>Gazzetta del Porto</a>", "Gazzetta del Porto"),
        ("Fuente: <a href='{o}'>Diario del Puerto</a>", "Diario del Puerto"),
        ("Source : <a href='{o}'>Journal du Port</a>", "Journal du Port"),
        ("出典：<a href='{o}'>港湾新聞</a>", "港湾新聞"),
        ("This article first appeared on <a href='{o}'>Harbour Herald</a>", "Harbour Herald"),
    ],
)
def test_attribution_lines_with_a_link(line: str, name: str) -> None:
    got = credits(f"<p>The plant opened on Monday.</p><p>{line.format(o=ORIGIN)}</p>")
    assert got == [Credit(CreditKind.LINE, url=ORIGIN, name=name)]


def test_a_name_only_credit_and_an_agency_dateline() -> None:
    got = credits(
        "<p>(Reuters) — The carmaker opened its plant on Monday, the company said in a "
        "statement.</p><p>Originally published by The Harbour Herald on 3 May 2024.</p>"
    )
    assert Credit(CreditKind.LINE, name="The Harbour Herald") in got
    assert Credit(CreditKind.LINE, name="Reuters") in got


def test_cross_domain_canonical_and_jsonld_sources() -> None:
    head = (
        f'<link rel="canonical" href="{ORIGIN}">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "isBasedOn": "'
        + ORIGIN
        + '", "sourceOrganization": {"@type": "Organization", "name": "Harbour Herald"}}'
        "</script>"
    )
    got = credits("<p>The plant opened on Monday.</p>", head)
    assert got == [
        Credit(CreditKind.CANONICAL, url=ORIGIN),
        Credit(CreditKind.BASED_ON, url=ORIGIN),
        Credit(CreditKind.SOURCE_ORG, name="Harbour Herald"),
    ]


def test_no_credit_from_own_site_links_photo_captions_or_prose() -> None:
    got = credits(
        f'<link rel="canonical" href="{URL}">'
        "<p>Sources close to the board said the plant would open on Monday.</p>"
        "<figure><img src='a.jpg'><figcaption>Source: Getty Images</figcaption></figure>"
        "<p>Via <a href='/stories/0041.html'>our earlier report</a></p>"
    )
    assert got == []
