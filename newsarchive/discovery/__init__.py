"""Discovery: finding a site's articles — URLs, sources, the article rule; Scrapy-free pure functions."""
