"""The archive layer: the only package that talks SQL."""

from __future__ import annotations

from newsarchive.archive.db import Archive, open_archive, resolve_db_url, upgrade

__all__ = ["Archive", "open_archive", "resolve_db_url", "upgrade"]
