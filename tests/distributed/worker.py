"""One crawl worker of a distributed job, as its own process (a reactor runs once per process).

Builds the settings with ``newsarchive crawl``'s own ``build_settings`` (project settings, the
archive, the Redis overlay, loopback speed) plus the test's identity and bounds, and runs spider
"news". Writes the final stats as JSON.

    python worker.py --db URL --redis URL --job NAME --start URL --name w1 --stats out.json
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scrapy.crawler import CrawlerProcess

from newsarchive.errors import NewsArchiveError
from newsarchive.run.crawl import CrawlOptions, build_settings

if TYPE_CHECKING:
    from scrapy.settings import Settings


def build(args: argparse.Namespace) -> Settings:
    options = CrawlOptions(
        db=args.db,
        local=True,
        extract_workers=1,
        redis=args.redis,
        job=args.job,
        redis_idle=args.idle,
        settings={
            "NEWSARCHIVE_REDIS_WORKER_TTL": args.ttl,
            "USER_AGENT": f"newsarchive-test (worker={args.name})",
            # A worker holds up to CONCURRENT_REQUESTS popped requests: keep it at what it
            # can download at once, or the first worker hoards the whole queue.
            "CONCURRENT_REQUESTS": args.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
            "CLOSESPIDER_TIMEOUT": 120,
            "LOG_LEVEL": "INFO",
        },
    )
    return build_settings(options, run_id=0)  # no crawl_runs row: the test reads the stats


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
