"""The source registry: which news sites we crawl, as data (``data/sources.toml``).

A source is a homepage plus optional feed and sitemap hints; the spider discovers the rest, so
adding a site is a TOML entry, not code. Files are validated on load and every problem names the
file, the entry and the field, because a typo in a registry should fail before a crawl starts.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from newsarchive.discovery.urls import canonicalize_url, host_of, registered_domain
from newsarchive.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

logger = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
COUNTRY_RE = re.compile(r"^([A-Z]{2}|INT)$")
FIELDS = {"display_name", "homepage", "language", "country", "feeds", "sitemaps", "allowed_hosts"}
REQUIRED = ("display_name", "homepage", "language", "country")
BUNDLED = "sources.toml"


@dataclass(slots=True, frozen=True)
class SourceConfig:
    name: str
    display_name: str
    homepage: str
    language: str | None = None
    country: str | None = None
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = field(default=())

    def hosts(self) -> tuple[str, ...]:
        """Hosts the crawl may visit: the configured list, else the homepage's host."""
        return self.allowed_hosts or (host_of(self.homepage),)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "display_name": self.display_name,
            "homepage": self.homepage,
            "language": self.language,
            "country": self.country,
            "feeds": list(self.feeds),
            "sitemaps": list(self.sitemaps),
            "allowed_hosts": list(self.hosts()),
        }


def _is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _parse_entry(origin: str, name: str, raw: object) -> SourceConfig:
    def fail(field_name: str | None, problem: str) -> ConfigError:
        where = f"{origin}: source {name!r}"
        if field_name:
            where += f": field {field_name!r}"
        return ConfigError(f"{where}: {problem}")

    if not NAME_RE.match(name):
        raise fail(None, "name must be a lower-case slug (letters, digits, '-', '.')")
    if not isinstance(raw, dict):
        raise fail(None, "must be a table")
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise fail(unknown[0], f"unknown field (known: {', '.join(sorted(FIELDS))})")
    for key in REQUIRED:
        if key not in raw:
            raise fail(key, "missing")
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise fail(key, "must be a non-empty string")
    if not _is_http_url(raw["homepage"]):
        raise fail("homepage", f"not an http(s) URL: {raw['homepage']!r}")
    if not LANGUAGE_RE.match(raw["language"]):
        raise fail("language", f"not an ISO 639-1 code: {raw['language']!r}")
    if not COUNTRY_RE.match(raw["country"]):
        raise fail("country", f"not an ISO 3166-1 alpha-2 code or INT: {raw['country']!r}")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("feeds", "sitemaps", "allowed_hosts"):
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise fail(key, "must be a list of strings")
        if key != "allowed_hosts":
            bad = [v for v in value if not _is_http_url(v)]
            if bad:
                raise fail(key, f"not an http(s) URL: {bad[0]!r}")
            lists[key] = tuple(canonicalize_url(v) for v in value)
        else:
            bad = [v for v in value if "/" in v or " " in v]
            if bad:
                raise fail(key, f"not a host name: {bad[0]!r}")
            lists[key] = tuple(v.lower() for v in value)
    return SourceConfig(
        name=name,
        display_name=raw["display_name"].strip(),
        homepage=canonicalize_url(raw["homepage"]),
        language=raw["language"],
        country=raw["country"],
        feeds=lists["feeds"],
        sitemaps=lists["sitemaps"],
        allowed_hosts=lists["allowed_hosts"],
    )


def parse_sources(text: str, origin: str) -> dict[str, SourceConfig]:
    """Validate one registry file's text (``origin`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: invalid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"sources"})
    if unknown:
        raise ConfigError(
            f"{origin}: unknown top-level key {unknown[0]!r} (expected [sources.NAME])"
        )
    table = data.get("sources", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{origin}: 'sources' must be a table of [sources.NAME] entries")
    return {name: _parse_entry(origin, name, raw) for name, raw in table.items()}


def load_sources(extra: Path | None = None) -> dict[str, SourceConfig]:
    """The bundled registry, plus (overriding by name) the entries of ``extra``."""
    bundled = resources.files("newsarchive").joinpath("data", BUNDLED)
    sources = parse_sources(bundled.read_text(encoding="utf-8"), f"newsarchive/data/{BUNDLED}")
    if extra is not None:
        try:
            text = extra.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{extra}: cannot read sources file: {exc.strerror}") from exc
        sources.update(parse_sources(text, str(extra)))
    return sources


def select_sources(names: Iterable[str] | None, extra: Path | None = None) -> list[SourceConfig]:
    """The registry sources ``names`` (every source when None), in the order given.

    All unknown names are reported at once, so a typo in a cron line takes one fix, not several.
    """
    registry = load_sources(extra)
    if names is None:
        return list(registry.values())
    wanted = list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in registry]
    if unknown:
        raise ConfigError(f"unknown source(s): {', '.join(unknown)} (see `newsarchive sources`)")
    return [registry[n] for n in wanted]


def source_for_url(url: str) -> SourceConfig:
    """An ad-hoc source for a bare start URL, named after its registered domain."""
    if not _is_http_url(url):
        raise ConfigError(f"not an http(s) URL: {url!r}")
    url = canonicalize_url(url)
    name = registered_domain(url)
    return SourceConfig(name=name, display_name=name, homepage=url)
