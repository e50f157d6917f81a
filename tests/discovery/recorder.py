"""Test-only item pipeline: records what the spider yielded, and the run's stats, as JSON.

Items carry raw bytes, so only ``url``, ``source`` and ``discovered_via`` are written; the
crawl tests read the files after the Scrapy subprocess exits. Pages the spider judged not to
be articles (``drop_reason`` set) are not recorded: they are offered to the archive only to keep
the decision and its reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler


class RecordPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.path = Path(crawler.settings["NEWSARCHIVE_TEST_RECORD"])
        self.items = self.path.open("w", encoding="utf-8")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if item.drop_reason:  # a not-article decision, kept for the archive with its reason
            return item
        record = {"url": item.url, "source": item.source, "via": item.discovered_via}
        self.items.write(json.dumps(record) + "\n")
        return item

    def close_spider(self) -> None:
        self.items.close()
        stats = self.crawler.stats.get_stats() if self.crawler.stats else {}
        stats_path = self.path.with_suffix(".stats.json")
        stats_path.write_text(json.dumps(stats, default=str, indent=1), encoding="utf-8")
