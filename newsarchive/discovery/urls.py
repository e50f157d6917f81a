"""URL canonicalisation and crawl-trap checks, shared by the spider and the archive's URL keys.

One spelling per page: a run must never fetch the same article twice because one link carried
``?utm_source=…``, another a ``#comments`` fragment and a third a session id. Canonicalisation is
conservative — it only removes what never selects content (tracking and session parameters,
fragments, default ports, host case) and sorts the rest. Trailing slashes are kept in the URL
we fetch (some servers only answer one spelling) but ignored by :func:`url_key`, the identity
used for de-duplication.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from courlan import extract_domain

logger = logging.getLogger(__name__)

# Query parameters that never select content: campaign tracking, click ids, share widgets.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt_mc",
        "wt.mc_id",
        "cmpid",
        "ocid",
        "smid",
        "sr_share",
        "ref_src",
        "ref_url",
        "share",
        "amp_js_v",
        "amp_gsa",
        "usqp",
        "outputtype",
        "spm",
        "ito",
        "itm_source",
        "itm_medium",
        "itm_campaign",
        "itm_content",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
    }
)
TRACKING_PREFIXES = (
    "utm_",
    "pk_campaign",
    "pk_kwd",
    "pk_keyword",
    "pk_source",
    "pk_medium",
    "pk_content",
    "pk_cid",
    "mtm_",
    "hmb_",
    "at_",
    "__twitter",
    "__s",
)  # not every "pk_": "pk_no=1412361" is an article id
# Session identifiers: the same page under an endless supply of names (a classic crawl trap).
SESSION_PARAMS = frozenset(
    {
        "jsessionid",
        "phpsessid",
        "aspsessionid",
        "asp.net_sessionid",
        "sid",
        "sessionid",
        "session_id",
        "sess",
        "s_id",
        "cfid",
        "cftoken",
        "zenid",
        "oscsid",
        "ssid",
    }
)
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_QUERY_SAFE = "=/:@!$'()*+,;-._~%[]?"

MAX_PATH_SEGMENTS = 20
MAX_SEGMENT_REPEATS = 2
MAX_URL_LENGTH = 2048


def _is_dropped_param(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low in SESSION_PARAMS or low.startswith(TRACKING_PREFIXES)


def _remove_dot_segments(path: str) -> str:
    """``/a/./b`` → ``/a/b``, ``/a/b/.`` → ``/a/b/``, ``/a/b/../c`` → ``/a/c`` (RFC 3986
    5.2.4). Every client resolves dot segments before it sends a request, so a link a site
    wrote as ``…/18725/.`` reaches the page at ``…/18725/`` and only that spelling can be
    fetched; empty segments are kept (servers differ on those)."""
    if "." not in path:
        return path
    segs = path.split("/")
    out: list[str] = []
    for i, seg in enumerate(segs):
        if seg in (".", ".."):
            if seg == ".." and len(out) > 1:
                out.pop()
            if i == len(segs) - 1:
                out.append("")
            continue
        out.append(seg)
    return "/".join(out)


def canonicalize_url(url: str) -> str:
    """The spelling of ``url`` we schedule and store (see the module docstring)."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return url
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    path = _remove_dot_segments(_PATH_SESSION.sub("", parts.path)) or "/"
    path = quote(path, safe="/:@!$&'()*+,;=-._~%")
    # Parameters stay as the site escaped them (a "%DC" in a Latin-1 site's query must not be
    # decoded as UTF-8 and re-encoded into another URL); only unsafe characters get escaped.
    query_pairs = sorted(
        quote(pair, safe=_QUERY_SAFE)
        for pair in parts.query.split("&")
        if pair and not _is_dropped_param(unquote_plus(pair.split("=", 1)[0]))
    )
    return urlunsplit((scheme, netloc, path, "&".join(query_pairs), ""))


def url_key(url: str) -> str:
    """Identity of a page for de-duplication: canonical URL, trailing slash ignored."""
    canon = canonicalize_url(url)
    parts = urlsplit(canon)
    path = parts.path
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def host_of(url: str) -> str:
    """``host[:port]`` (port only when not the scheme's default), lower-case, no ``www.``."""
    parts = urlsplit(canonicalize_url(url))
    netloc = parts.netloc
    return netloc.removeprefix("www.")


def host_allowed(url: str, allowed: tuple[str, ...] | list[str] | frozenset[str]) -> bool:
    """Whether ``url`` is on one of the ``allowed`` hosts or their subdomains.

    An allowed entry with a port (loopback test sites share one host name) matches that port
    only; one without a port matches the default port.
    """
    target = host_of(url)
    if not target:
        return False
    t_host, _, t_port = target.partition(":") if not target.startswith("[") else (target, "", "")
    for entry in allowed:
        entry = entry.lower().removeprefix("www.")
        e_host, _, e_port = entry.partition(":")
        if e_port != t_port:
            continue
        if t_host == e_host or t_host.endswith("." + e_host):
            return True
    return False


def _is_ip_or_local(host: str) -> bool:
    if "." not in host:
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def registered_domain(url: str) -> str:
    """``autocar.co.uk`` for ``https://www.autocar.co.uk/news``; ``127.0.0.1-8042`` for loopback.

    IP addresses and single-label hosts get their port appended, because loopback test sites
    differ only by port and each must be a source of its own.
    """
    parts = urlsplit(canonicalize_url(url))
    host = parts.hostname or ""
    if _is_ip_or_local(host):
        return f"{host}-{parts.port}" if parts.port else host
    return extract_domain(url) or host.removeprefix("www.")


def trap_reason(url: str) -> str | None:
    """Why a URL is a likely crawl trap (by its shape alone), or None.

    Heritrix-style limits: over-long URLs, too deep paths, and a path segment repeated more
    than twice (``/a/b/a/b/a/…`` relative-link loops).
    """
    if len(url) > MAX_URL_LENGTH:
        return "url_too_long"
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) > MAX_PATH_SEGMENTS:
        return "path_too_deep"
    counts: dict[str, int] = {}
    for seg in segments:
        counts[seg] = counts.get(seg, 0) + 1
        if counts[seg] > MAX_SEGMENT_REPEATS:
            return "repeated_segment"
    return None


_DIGITS = re.compile(r"\d+")


def url_template(url: str) -> str:
    """The URL with every digit run replaced by ``0``: pagination and calendar pages of one
    listing share a template, so a per-template budget bounds ``?page=N`` and
    ``/archive/YYYY/MM/DD/`` traps without knowing the site.
    """
    parts = urlsplit(url_key(url))
    return _DIGITS.sub("0", f"{parts.netloc}{parts.path}?{parts.query}")
