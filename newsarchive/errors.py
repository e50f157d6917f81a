"""One small exception hierarchy so the CLI can turn every expected failure into one clear line."""

from __future__ import annotations


class NewsArchiveError(Exception):
    """Base of every error the CLI reports as a one-line message (never a traceback)."""


class ConfigError(NewsArchiveError):
    """A setting, option value or data file is invalid."""


class ArchiveError(NewsArchiveError):
    """The archive database cannot be opened, read or written."""


class ArchiveUnavailableError(ArchiveError):
    """The database server cannot be reached right now (restart, network): worth waiting for."""


class TransactionConflictError(ArchiveError):
    """The server rolled the transaction back to resolve a conflict with a concurrent one (a
    deadlock, a serialization failure): running it again is safe and usually succeeds."""


class PageRejectedError(ArchiveError):
    """The archive refuses this one page's data (a NUL, a lone surrogate, an index row over the
    server's limit): the page is lost and counted, the crawl goes on."""


class SchemaOutdatedError(ArchiveError):
    """The archive was created by an older version; `newsarchive db upgrade` fixes it."""


class QuerySyntaxError(NewsArchiveError):
    """A search query the parser cannot understand."""


class ExtractionError(NewsArchiveError):
    """Extraction crashed or timed out on a page (recorded on the capture, never fatal)."""


class CrawlLockedError(NewsArchiveError):
    """Another crawl holds the lock for this archive/job."""
