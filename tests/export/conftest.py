"""Archives for the export tests: rich rows written through the ORM, and real captures stored
through the archive's own ``save_page`` from the bundled demo web's article pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from support.rows import add_article

from newsarchive.archive.models import ArticleTopic, Duplicate
from newsarchive.archive.store import ensure_source, save_page
from newsarchive.extraction import extract
from newsarchive.items import FetchedPage

if TYPE_CHECKING:
    from newsarchive.archive import Archive

DEMO_SITE = Path(__file__).resolve().parents[2] / "newsarchive" / "demo" / "site"
FETCHED = datetime(2024, 6, 3, 7, 15, 30, 123456, tzinfo=UTC)
# Values a spreadsheet would evaluate as formulas (OWASP's list of leading characters).
FORMULAS = {
    "title": '=HYPERLINK("https://evil.example","click")',
    "section": "+cmd|' /C calc'!A0",
    "description": "-2+3",
    "image": "@SUM(1,2)",
}


def demo_pages(limit: int | None = None) -> list[tuple[str, str, bytes]]:
    """(source, url, html bytes) of the demo web's article pages, in path order."""
    pages = []
    for path in sorted(DEMO_SITE.glob("*/**/*.html")):
        raw = path.read_bytes()
        if b"datePublished" not in raw and b"article:published_time" not in raw:
            continue
        site = path.relative_to(DEMO_SITE).parts[0]
        base = f"https://{site}.example"
        html = re.sub(
            rb"\{\{site:(\w+)\}\}", lambda m: f"https://{m[1].decode()}.example".encode(), raw
        )
        rel = path.relative_to(DEMO_SITE / site).as_posix().removesuffix("index.html")
        pages.append((site, f"{base}/{rel}", html))
    return pages[:limit]


def store_pages(archive: Archive, pages: list[tuple[str, str, bytes]]) -> list[int]:
    """Extract each page and store it as the crawler would; returns the capture ids."""
    captures = []
    for i, (source, url, html) in enumerate(pages):
        fetched = FETCHED + timedelta(minutes=i)
        with archive.session() as session:
            ensure_source(session, source, language="en")
            page = FetchedPage(
                url=url,
                requested_url=url,
                status=200,
                body=html,
                fetched_at=fetched,
                source=source,
                headers={
                    "Content-Type": "text/html; charset=utf-8",
                    "Content-Encoding": "gzip",
                    "Content-Length": "999",
                    "ETag": f'"e{i}"',
                },
                encoding="utf-8",
                source_language="en",
            )
            page.article = extract(html, url, fetched, encoding="utf-8", lang_hint="en")
            captures.append(save_page(session, page).capture_id)
    return captures


@pytest.fixture
def captured(archive: Archive) -> Archive:
    """An archive holding eight real captures of demo article pages (three sources)."""
    pages = demo_pages()
    picked = [p for p in pages if p[0] == "autodaily"][:4] + [
        p for p in pages if p[0] != "autodaily"
    ][:4]
    store_pages(archive, picked)
    return archive


@pytest.fixture
def rich(archive: Archive) -> Archive:
    """Articles with every field filled (and formula-like text), a copy, and a dateless one."""
    with archive.session() as s:
        first = add_article(
            s,
            "autodaily",
            "renault-xiaomi",
            FORMULAS["title"],
            "Renault met Xiaomi in Beijing.\nThe talks were about software.",
            published=datetime(2024, 4, 26, 8, 40, tzinfo=UTC),
            published_offset=120,
            modified=datetime(2024, 4, 26, 9, 0, tzinfo=UTC),
            date_source="jsonld",
            date_flags=["future"],
            authors=["Claire Fontaine", "-Dash Start"],
            organisations=["Reuters"],
            companies=["Renault", "Xiaomi"],
            section=FORMULAS["section"],
            tags=["EV", "=tag"],
            description=FORMULAS["description"],
            image=FORMULAS["image"],
            first_seen="2024-04-26T09:00:00",
            last_seen="2024-04-27T09:00:00",
            version=2,
        )
        copy = add_article(
            s,
            "motorwire",
            "renault-copy",
            "Renault eyes Chinese partners",
            "Renault met Xiaomi in Beijing!\nThe talks were about software.",
            published=datetime(2024, 4, 26, 15, 0, tzinfo=UTC),
            published_offset=-300,
            date_source="meta",
            lang="en",
            first_seen="2024-04-26T16:00:00",
        )
        s.add(Duplicate(article_id=copy.id, original_id=first.id, kind="near", score=0.83))
        for topic in ("software", "ev"):
            s.add(ArticleTopic(article_id=first.id, topic=topic, score=2, terms=[topic]))
        add_article(
            s,
            "autoitalia",
            "senza-data",
            "Notizia senza data",
            "Un articolo senza data di pubblicazione.",
            lang="it",
            first_seen="2024-05-02T10:00:00",
            authors=(),
        )
    return archive
