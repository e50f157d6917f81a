"""Markup that extraction tests put into the pages they write."""

from __future__ import annotations

import json
from typing import Any


def jsonld(**fields: Any) -> str:
    """A ``NewsArticle`` JSON-LD script with ``fields``."""
    data = {"@context": "https://schema.org", "@type": "NewsArticle", **fields}
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'
