"""Crawl runs: one crawl in this process, the job lock, distributed (scale-out) administration."""
