"""One crawl worker of a distributed job, as its own process (a reactor runs once per process).

Builds the settings the way ``newsarchive crawl`` does for a plain run (project settings, the
archive, the incremental frontier middlewares that keep ``url_state``, loopback speed), applies
the Redis overlay and runs spider "news". Writes the final stats as JSON.

    python worker.py --db URL --redis URL --job NAME --start URL --name w1 --stats out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from newsarchive.distributed import apply_distributed_settings, distributed_settings
from newsarchive.errors import NewsArchiveError

INCREMENTAL = "newsarchive.spiders.incremental"


def build(args: argparse.Namespace) -> Settings:
    settings = Settings()
    settings.setmodule("newsarchive.settings", priority="project")
    settings.setdict(
        {
            "NEWSARCHIVE_DB": args.db,
            "NEWSARCHIVE_LOCAL": True,
            "NEWSARCHIVE_EXTRACT_WORKERS": 1,
            "USER_AGENT": f"newsarchive-test (worker={args.name})",
            "SPIDER_MIDDLEWARES": {
                **settings.getdict("SPIDER_MIDDLEWARES"),
                f"{INCREMENTAL}.IncrementalSpiderMiddleware": 950,
            },
            "DOWNLOADER_MIDDLEWARES": {
                **settings.getdict("DOWNLOADER_MIDDLEWARES"),
                f"{INCREMENTAL}.IncrementalDownloaderMiddleware": 120,
            },
            # A worker holds up to CONCURRENT_REQUESTS popped requests: keep it at what it
            # can download at once, or the first worker hoards the whole queue.
            "CONCURRENT_REQUESTS": args.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
            "CLOSESPIDER_TIMEOUT": 120,
            "LOG_LEVEL": "INFO",
        },
        priority="cmdline",
    )
    overlay = distributed_settings(
        args.redis, args.job, idle_seconds=args.idle, worker_ttl=args.ttl
    )
    apply_distributed_settings(settings, overlay)
    return settings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    for name in ("--db", "--redis", "--job", "--start", "--name", "--stats"):
        parser.add_argument(name, required=True)
    parser.add_argument("--idle", type=float, default=2.0)
    parser.add_argument("--ttl", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args(argv)
    try:
        settings = build(args)
    except NewsArchiveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    process = CrawlerProcess(settings, install_root_handler=True)
    crawler = process.create_crawler("news")
    process.crawl(crawler, start_urls=args.start)
    process.start()
    stats: dict[str, Any] = dict(crawler.stats.get_stats()) if crawler.stats else {}
    with open(args.stats, "w", encoding="utf-8") as out:  # noqa: PTH123
        json.dump(
            {k: v.isoformat() if isinstance(v, datetime) else v for k, v in stats.items()}, out
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
