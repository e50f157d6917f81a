"""Bundled sample automotive news web for `newsarchive demo`."""
