"""A small news site written to a directory, for incremental and resume crawl tests.

Shaped like a real automotive news site: a homepage that links its feed and its news section,
a robots.txt naming the sitemap, a sitemap with ``lastmod``, an RSS feed of the latest stories,
a section listing, and article pages with JSON-LD ``NewsArticle`` metadata. Every article has
its own text (seeded word choice), so the archive's near-duplicate detection keeps them apart.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

MAKERS = [
    "Toyota", "Volkswagen", "Hyundai", "Ford", "Stellantis", "BMW", "Renault", "Nissan",
    "Honda", "Mercedes-Benz", "Kia", "Volvo", "BYD", "Geely", "Tata", "Mazda", "Subaru",
    "Suzuki", "Rivian", "Lucid", "Polestar", "Skoda", "Seat", "Audi",
]  # fmt: skip
TOPICS = [
    "battery plant", "recall", "quarterly results", "software update", "plant closure",
    "joint venture", "price cut", "hydrogen truck", "solid-state cells", "dealer network",
    "emissions probe", "chip supply", "robotaxi pilot", "tariff exposure", "union contract",
    "charging network", "platform sharing", "lidar supplier", "export record", "steel costs",
]  # fmt: skip
WORDS = [
    "analysts",
    "expect",
    "margins",
    "production",
    "output",
    "suppliers",
    "demand",
    "pricing",
    "inventory",
    "factory",
    "workers",
    "capacity",
    "investment",
    "billion",
    "euros",
    "dollars",
    "quarter",
    "guidance",
    "regulators",
    "battery",
    "cells",
    "chemistry",
    "range",
    "charging",
    "software",
    "vehicles",
    "models",
    "platform",
    "hybrid",
    "electric",
    "diesel",
    "petrol",
    "sales",
    "registrations",
    "market",
    "share",
    "dealers",
    "orders",
    "backlog",
    "delays",
    "logistics",
    "ports",
    "shipping",
    "steel",
    "aluminium",
    "lithium",
    "nickel",
    "cobalt",
    "contracts",
    "negotiations",
    "strike",
    "agreement",
    "tariffs",
    "exports",
    "imports",
    "subsidies",
    "incentives",
    "emissions",
    "targets",
    "fleet",
    "customers",
    "warranty",
    "recall",
    "defect",
    "airbag",
    "brakes",
    "steering",
    "inspection",
    "engineers",
    "testing",
    "validation",
    "launch",
    "schedule",
    "timeline",
    "executives",
    "board",
    "strategy",
    "restructuring",
    "savings",
    "jobs",
    "shifts",
    "line",
    "assembly",
    "stamping",
    "paint",
    "welding",
    "robots",
    "automation",
    "plant",
    "region",
    "government",
    "ministry",
]
START = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


@dataclass(slots=True)
class Story:
    index: int
    slug: str
    title: str
    published: datetime
    paragraphs: list[str]

    @property
    def path(self) -> str:
        return f"/news/{self.published:%Y/%m}/{self.slug}.html"


def story(index: int) -> Story:
    rng = random.Random(index * 7919 + 17)
    maker = MAKERS[index % len(MAKERS)]
    topic = TOPICS[(index * 7) % len(TOPICS)]
    title = f"{maker} {topic}: what story {index} means for the industry"
    slug = f"{maker.lower().replace(' ', '-')}-{topic.replace(' ', '-')}-{index}"
    paragraphs = []
    for p in range(6):
        sentences = []
        for _ in range(5):
            words = [rng.choice(WORDS) for _ in range(rng.randint(12, 20))]
            sentences.append(" ".join(words).capitalize() + ".")
        lead = f"{maker} said on day {index}-{p} that its {topic} plans" if p == 0 else ""
        paragraphs.append((lead + " " + " ".join(sentences)).strip())
    return Story(index, slug, title, START + timedelta(hours=7 * index), paragraphs)


def article_html(s: Story) -> str:
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": s.title,
        "datePublished": s.published.isoformat(),
        "author": {"@type": "Person", "name": "Jane Miller"},
        "publisher": {"@type": "Organization", "name": "Motor Ledger"},
    }
    body = "\n".join(f"<p>{p}</p>" for p in s.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{s.title} | Motor Ledger</title>
<link rel="canonical" href="{{{{site:SITE}}}}{s.path}">
<meta property="og:type" content="article">
<meta property="og:title" content="{s.title}">
<meta property="article:published_time" content="{s.published.isoformat()}">
<script type="application/ld+json">{json.dumps(ld)}</script></head>
<body><header><a href="/">Motor Ledger</a> <nav><a href="/news/">News</a></nav></header>
<main><article><h1>{s.title}</h1><p class="byline">By Jane Miller,
<time datetime="{s.published.isoformat()}">{s.published:%d %B %Y}</time></p>
{body}
</article></main><footer><a href="/news/">More news</a></footer></body></html>
"""


def write_site(root: Path, count: int, name: str = "ledger") -> list[Story]:
    """Write a site of ``count`` stories to ``root`` (rewrites the index documents)."""
    stories = [story(i) for i in range(count)]
    newest = sorted(stories, key=lambda s: s.published, reverse=True)
    base = f"{{{{site:{name}}}}}"
    root.mkdir(parents=True, exist_ok=True)
    for s in stories:
        target = root / s.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_text(article_html(s).replace("SITE", name), encoding="utf-8")
    teasers = "\n".join(
        f'<li><a href="{s.path}">{s.title}</a><p>Teaser of story {s.index}.</p></li>'
        for s in newest[:5]
    )
    (root / "index.html").write_text(
        f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Motor Ledger</title>
<link rel="alternate" type="application/rss+xml" title="Latest" href="/feed.xml"></head>
<body><header><a href="/">Motor Ledger</a> <nav><a href="/news/">News</a></nav></header>
<main><h2>Top stories</h2><ul>{teasers}</ul></main></body></html>
""",
        encoding="utf-8",
    )
    (root / "news").mkdir(exist_ok=True)
    listing = "\n".join(f'<li><a href="{s.path}">{s.title}</a></li>' for s in newest)
    (root / "news" / "index.html").write_text(
        f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>News | Motor Ledger
</title></head><body><main><h1>All news</h1><ul>{listing}</ul></main></body></html>
""",
        encoding="utf-8",
    )
    (root / "robots.txt").write_text(
        f"User-agent: *\nDisallow: /private/\nSitemap: {base}/sitemap.xml\n", encoding="utf-8"
    )
    urls = "\n".join(
        f"<url><loc>{base}{s.path}</loc><lastmod>{s.published.isoformat()}</lastmod></url>"
        for s in stories
    )
    (root / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}\n</urlset>\n',
        encoding="utf-8",
    )
    items = "\n".join(
        f"<item><title>{s.title}</title><link>{base}{s.path}</link>"
        f"<pubDate>{s.published:%a, %d %b %Y %H:%M:%S} GMT</pubDate></item>"
        for s in newest[:10]
    )
    (root / "feed.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Motor Ledger</title><link>{base}/</link><description>Latest</description>\n"
        f"{items}\n</channel></rss>\n",
        encoding="utf-8",
    )
    return stories
