"""Stage 3: fingerprint the body (hash + MinHash) so the store can link syndicated copies.

The news spider's page analysis computes it in the extraction worker; this stage covers the
pages extracted elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsarchive.extraction.fingerprint import fingerprint

if TYPE_CHECKING:
    from newsarchive.items import FetchedPage


class DedupePipeline:
    def process_item(self, page: FetchedPage) -> FetchedPage:
        if page.article is not None and page.fingerprint is None:
            page.fingerprint = fingerprint(page.article.body)
        return page
