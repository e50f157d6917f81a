"""The one place that turns date strings (structured or human, any language) into datetimes.

Every datetime leaving this module is timezone-aware: it keeps the offset the page stated, and is
UTC when the page stated none. Structured values (ISO 8601, RFC 2822) take a fast path; only
human dates reach dateparser, always with explicit languages, because dateparser guessing among
all its languages costs ~400 ms a call. Results are cached per (text, languages, reference time).

Relative dates ("il y a 3 heures", "vor 2 Stunden", "yesterday") are resolved against the fetch
time, which is the only honest "now" for a page fetched in the past.
"""

from __future__ import annotations

import logging
import re
import warnings
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterator

logger = logging.getLogger(__name__)

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_GRACE = timedelta(days=1)

_ISO = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}:?\d{2}|[+-]\d{2})?)?\s*$",
    re.IGNORECASE,
)
_CJK = re.compile(
    r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?"
    r"(?:[^\d]{0,12}?(\d{1,2})\s*[:時时시]\s*(\d{1,2}))?"
)
_DOTTED = re.compile(
    r"(?<![\d.])(?<!\d\.\s)(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4}|\d{2})(?!\d|\.\d)"
    r"(?:[\s,T|–-]+(?:um\s+)?(\d{1,2})[:.](\d{2})(?::(\d{2}))?)?"
)
# 3/5/2022 22:41, 05/12/2020 - 15:10: numeric dates whose day/month order depends on the locale
_SLASHED = re.compile(
    r"(?<![\d/])(\d{1,2})/(\d{1,2})/(\d{4})(?![\d/])"
    r"(?:[\s,T|–-]+(?:a las\s+|às\s+|at\s+|à\s+|um\s+)?(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?"
)
_YEAR_FIRST = re.compile(
    r"(?<!\d)((?:19|20)\d{2})(?:[-/]|\.\s?)(\d{1,2})(?:[-/]|\.\s?)(\d{1,2})(?!\d)\.?"
    r"(?:[\sT,|–-]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?"
)
# regions writing numeric dates month first (3/5/2022 is March 5th there); English without a
# region is read the same way, as the web's default English is US English
_MONTH_FIRST_REGIONS = frozenset({"us", "ph", "fm", "mh", "pw", "as", "gu", "mp", "pr", "um", "vi"})
_DIGITS = re.compile(r"\d")
_RELATIVE_WORDS = re.compile(
    r"\b(?:yesterday|today|ago|hier|aujourd|gestern|heute|ayer|hoy|ieri|oggi|kemarin|"
    r"hari ini|ontem|hoje|gisteren|vandaag)\b|昨日|今日|昨天|今天|어제|오늘",
    re.IGNORECASE,
)
# "Published on", "Publié le", "Veröffentlicht am", "Datum:": labels dateparser cannot read
_LABEL = re.compile(
    r"^(?:(?:published|posted|updated|publié|publiée|publicado|publicada|pubblicato|"
    r"veröffentlicht|publiziert|erschienen|gepubliceerd|diterbitkan|publikováno|"
    r"on|le|am|el|em|op|den|vom|du|del)\b[\s:,]*|[^\W\d]{2,20}:\s*)+",
    re.IGNORECASE,
)
_DATEPARSER_LANGS: frozenset[str] | None = None


def _supported_languages() -> frozenset[str]:
    global _DATEPARSER_LANGS
    if _DATEPARSER_LANGS is None:
        from dateparser.languages.loader import default_loader

        _DATEPARSER_LANGS = frozenset(default_loader.get_locale_map().keys())
    return _DATEPARSER_LANGS


def language_list(*hints: str | None) -> tuple[str, ...]:
    """Languages to give dateparser: the hints it knows (``fr-FR`` -> ``fr``), then English."""
    supported = _supported_languages()
    out: list[str] = []
    for hint in hints:
        if not hint:
            continue
        code = hint.strip().replace("_", "-").lower()
        for candidate in (code, code.split("-")[0]):
            if candidate == "zh" or candidate.startswith("zh-"):
                candidate = "zh"
            if candidate in supported and candidate not in out:
                out.append(candidate)
                break
    if "en" not in out:
        out.append("en")
    return tuple(out)


def to_aware(value: datetime) -> datetime:
    """Aware datetime with a plain fixed offset (UTC when none was known)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    offset = value.utcoffset()
    if offset is None:
        return value.replace(tzinfo=UTC)
    return value.replace(tzinfo=UTC if offset == timedelta(0) else timezone(offset))


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """The same instant in UTC; a naive value is read as UTC (what feeds and users mean by it)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_structured(text: str | None) -> datetime | None:
    """An ISO 8601 or RFC 2822 date (sitemaps, feeds, HTTP headers, CLI options), else None.

    Machine-written dates only: no dateparser, so it is fast and never guesses. The offset
    stated is kept; a value without one is UTC.
    """
    if not text or not text.strip():
        return None
    text = text.strip()
    try:
        return to_aware(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        return to_aware(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def _iso(text: str) -> datetime | None:
    match = _ISO.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, tz = match.groups()
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    if tz and tz.upper() != "Z":
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 14 or minutes > 59:
            return None
        return value.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    return value.replace(tzinfo=UTC)


def _cjk(text: str) -> datetime | None:
    match = _CJK.search(text)
    if not match:
        return None
    year, month, day, hour, minute = match.groups()
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=UTC
        )
    except ValueError:
        return None


def _full_year(year: str) -> int:
    """``23`` -> 2023, ``98`` -> 1998: two-digit years on news pages are this century's or the
    late last one's."""
    value = int(year)
    if len(year) == 2:
        value += 2000 if value < 70 else 1900
    return value


def _numeric(
    year: str, month: str, day: str, hour: str | None, minute: str | None, second: str | None
) -> datetime | None:
    try:
        return datetime(
            _full_year(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def _dotted(text: str) -> datetime | None:
    """``10.12.2022, 07:00`` / ``07.11.23 - 10:11`` is day.month.year wherever dots separate
    numeric dates."""
    match = _DOTTED.search(text)
    if not match:
        return None
    day, month, year, hour, minute, second = match.groups()
    return _numeric(year, month, day, hour, minute, second)


def month_first(locale: str | None) -> bool:
    """Whether ``locale`` (``en-US``, ``es_AR``, ``en``) writes numeric dates month first."""
    parts = (locale or "").strip().replace("_", "-").lower().split("-")
    if parts[0] != "en":
        return False
    return len(parts) == 1 or parts[1] in _MONTH_FIRST_REGIONS


def slashed_dates(text: str, locale: str | None) -> tuple[datetime, datetime | None] | None:
    """A ``d/m/yyyy`` (or, for month-first locales, ``m/d/yyyy``) date and the other reading.

    The second value is the date read in the other order when both numbers could be a month
    (``05/06/2024``), else None: an ambiguous numeric date may still agree with a structured
    one, but is no evidence against it.
    """
    match = _SLASHED.search(text)
    if not match:
        return None
    first, second_, year, hour, minute, second = match.groups()
    day, month = (second_, first) if month_first(locale) else (first, second_)
    if int(month) > 12:
        day, month = month, day
    value = _numeric(year, month, day, hour, minute, second)
    if value is None:
        return None
    other = None
    if day != month and int(day) <= 12:
        other = _numeric(year, day, month, hour, minute, second)
    return value, other


def _year_first(text: str) -> datetime | None:
    """``2022-5-5 22:17:36``, ``2020. 06. 04. 11:27``, ``2022/05/03``: year, month, day, with
    the offset when one is written after the clock."""
    match = _YEAR_FIRST.search(text)
    if not match:
        return None
    value = _numeric(*match.groups()[:6])
    tz = match[7]
    if value is None or not tz or tz.upper() == "Z":
        return value
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if tz[0] == "-" else 1
    return value.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))


_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan januar jänner jän janvier janv gennaio gen enero ene janeiro januari",
        "february feb februar février fevrier févr fevr febbraio febrero fevereiro fev februari",
        "march mar märz mär mrz maerz mars marzo março marco maart",
        "april apr avril avr aprile abril abr",
        "may mai maggio mag mayo maio mei",
        "june jun juni juin giugno giu junio junho",
        "july jul juli juillet juil luglio lug julio julho",
        "august aug août aout agosto ago augustus",
        "september sep sept septembre settembre set septiembre setiembre setembro",
        "october oct oktober octobre ottobre ott octubre outubro out okt",
        "november nov novembre noviembre novembro",
        "december dec dezember décembre decembre déc dicembre dic diciembre dezembro dez",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS.setdefault(_name, _number)
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH_YEAR = re.compile(
    rf"(?<![\w.])(\d{{1,2}})(?:st|nd|rd|th|er|º|°)?\.?\s*(?:de\s+)?({_MONTH})\.?,?\s*"
    rf"(?:de\s+)?(\d{{4}})(?!\d)",
    re.IGNORECASE,
)
_MONTH_DAY_YEAR = re.compile(
    rf"(?<!\w)({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})(?!\d)", re.IGNORECASE
)
_CLOCK = re.compile(
    r"[\s,|–-]*(?:um|at|à|alle|ore|a las|às|om|kl\.?)?\s*(\d{1,2})[:h](\d{2})(?![\d/.])"
    r"\s*(am|pm|a\.m\.|p\.m\.)?",
    re.IGNORECASE,
)


def _named_month(text: str) -> datetime | None:
    """``26. April 2024``, ``3 de mayo de 2022, 21:25``, ``May 2, 2024 at 9:05 pm``: month names
    in the languages of the registry, without dateparser (the common visible datelines)."""
    match = _DAY_MONTH_YEAR.search(text)
    if match:
        day, month, year = match[1], match[2], match[3]
    else:
        match = _MONTH_DAY_YEAR.search(text)
        if not match:
            return None
        month, day, year = match[1], match[2], match[3]
    hour = minute = 0
    clock = _CLOCK.match(text, match.end())
    if clock:
        hour, minute = int(clock[1]), int(clock[2])
        meridiem = (clock[3] or "").lower().replace(".", "")
        if meridiem == "pm" and hour < 12:
            hour += 12
        elif meridiem == "am" and hour == 12:
            hour = 0
    try:
        return datetime(int(year), _MONTHS[month.lower()], int(day), hour, minute, tzinfo=UTC)
    except ValueError:
        return None


_VISIBLE_PARSERS = (_cjk, _year_first, _dotted)
_WORD = re.compile(r"[^\W\d_]{2,}")
# "12.10. - 15.10.2023", "21.10.2019 – 27.10.2019", "3/5 - 7/5/2024": a period, not a dateline
_RANGE = re.compile(
    r"\d{1,2}[./]\s?\d{1,2}[./]?(?:\d{2,4})?\s*(?:[-–—]|bis|to|au|al)\s*\d{1,2}[./]"
)
# "Publicado el 3 de mayo de 2022 a las 22:03", "05.02.2020 - Redaktion: Jane Doe (Desk)"
VISIBLE_MAX_WORDS = 6


def visible_date(text: str, locale: str | None) -> tuple[datetime, datetime | None] | None:
    """The publication date a short visible line states, and its other reading if ambiguous.

    For the lines printed next to the headline ("07.11.2023, 07:30 Uhr", "3/5/2022 22:41",
    "Publicado el 3 de mayo de 2022"): numeric and month-name dates in the registry's languages,
    with their clock when given, read by regular expressions only — no dateparser, whose guesses
    on free text ("3 Min", "Lesedauer: 5 Minuten") would be worse than no date. The part of a
    line after updated-at wording is not read ("Published 3 May, updated 5 May" is 3 May); a
    line stating two different dates is a range, not a dateline. Relative dates are not read.
    The value is the wall-clock time, labelled UTC (the line states no offset).
    """
    update = _UPDATE_WORDS.search(text)
    if update:
        text = text[: update.start()]
    if not _DIGITS.search(text):
        return None
    words = [w for w in _WORD.findall(text) if w.casefold() not in _MONTHS]
    if len(words) > VISIBLE_MAX_WORDS:
        return None  # a sentence or a caption that mentions a date, not a dateline
    if _RANGE.search(text):
        return None
    for parse in _VISIBLE_PARSERS:
        value = parse(text)
        if value is not None:
            return value, None
    slashed = slashed_dates(text, locale)
    if slashed is not None:
        return slashed
    value = _named_month(text)
    return (value, None) if value is not None else None


def _rfc2822(text: str) -> datetime | None:
    if "," not in text[:5] and not re.match(r"^\d{1,2} [A-Z][a-z]{2} \d{4} \d", text):
        return None
    try:
        return to_aware(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


def parse_date(
    text: str | None,
    languages: tuple[str, ...] = ("en",),
    fetched_at: datetime | None = None,
) -> datetime | None:
    """Parse a date string; None for anything that is not recognisably a date."""
    if not text:
        return None
    text = _LABEL.sub("", " ".join(text.split())[:120])
    if not text or (not _DIGITS.search(text) and not _RELATIVE_WORDS.search(text)):
        return None  # "on:", "Posted", "" – dateparser either guesses or takes seconds here
    base = to_aware(fetched_at).astimezone(UTC).replace(tzinfo=None) if fetched_at else None
    return _parse_cached(text, languages, base)


# "3 hours ago" in the languages of the registry: a number of units back from the fetch time.
_AGO = re.compile(
    r"\b(?:ago|il y a|vor|hace|fa|há|geleden|lalu|yang lalu|sedan|siden|temu|tagasi|önce|назад)\b"
    r"|前|전",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+")
_CLOCK_TIME = re.compile(r"\d{1,2}[:h]\d{2}(?::\d{2})?")


def _worth_dateparser(text: str) -> bool:
    """Whether ``text`` can hold a date dateparser should read.

    A full date needs at least a day and a year, two numbers besides a clock time; with fewer, only
    a relative expression ("vor 3 Stunden", "yesterday") is a date. Without this a reading time
    ("3 Min.") came back as "three minutes before the fetch", and every such string cost a
    dateparser call (the largest share of date CPU on real pages).
    """
    if _RELATIVE_WORDS.search(text) or _AGO.search(text):
        return True
    return len(_NUMBER.findall(_CLOCK_TIME.sub(" ", text))) >= 2


@lru_cache(maxsize=8192)
def _parse_cached(text: str, languages: tuple[str, ...], base: datetime | None) -> datetime | None:
    value = (
        _iso(text)
        or _cjk(text)
        or _year_first(text)
        or _dotted(text)
        or _rfc2822(text)
        or _named_month(text)
    )
    if value is not None:
        return value
    if not _worth_dateparser(text):
        return None
    import dateparser

    # REQUIRE_PARTS: a bare time ("9:05 PM") or "Nov 24" would otherwise get today's date/year;
    # relative expressions ("il y a 3 heures") still resolve against RELATIVE_BASE.
    settings: dict[str, object] = {
        "PREFER_DATES_FROM": "past",
        "REQUIRE_PARTS": ["day", "month", "year"],
    }
    if base is not None:
        settings["RELATIVE_BASE"] = base
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = dateparser.parse(text, languages=list(languages), settings=settings)
    except (ValueError, TypeError, OverflowError, re.error) as exc:
        logger.debug("dateparser failed on %r: %s", text, exc)
        return None
    return to_aware(parsed) if parsed is not None else None


_STATED_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2}|\b(?:GMT|UTC|[A-Z]{2,4}T))\s*$", re.IGNORECASE)
_HAS_TIME = re.compile(r"\d{1,2}[:h]\d{2}")
_HAS_SECONDS = re.compile(r"\d{1,2}:\d{2}:\d{2}")


def states_offset(text: str) -> bool:
    """Whether a date string carries its own offset or zone (else it is publisher-local)."""
    return bool(_STATED_OFFSET.search(text.strip()))


def has_clock(text: str) -> bool:
    """Whether a date string gives a time of day (``21:25``, ``22h03``)."""
    return bool(_HAS_TIME.search(text))


def local_offset(utc_value: datetime, others: list[tuple[str, datetime]]) -> datetime:
    """Re-express a UTC timestamp in the publisher's offset when the page reveals it.

    Pages often give the same instant twice: ``2023-11-09T01:09:55Z`` in JSON-LD and
    ``2023-11-08 18:09:55`` (local, no offset) in a meta tag. The calendar day readers saw is the
    local one, so the offset is taken from a candidate stating the same instant with a non-zero
    offset, or inferred from a local wall-clock time differing by whole quarter-hours (≤ 14 h)
    with the same minutes and seconds (the minutes only, when the wall clock has no seconds:
    a visible "21:25" under ``00:25:56Z``).
    """
    if utc_value.utcoffset() != timedelta(0):
        return utc_value
    for raw, other in others:
        offset = other.utcoffset()
        if states_offset(raw):
            if offset and other == utc_value:
                return other
            continue
        if not _HAS_TIME.search(raw):
            continue
        base = utc_value.replace(tzinfo=None)
        if not _HAS_SECONDS.search(raw):
            base = base.replace(second=0, microsecond=0)  # "21:25" states the minute only
        delta = other.replace(tzinfo=None) - base
        if (
            delta
            and abs(delta) <= timedelta(hours=14)
            and delta % timedelta(minutes=15) == timedelta(0)
        ):
            return utc_value.astimezone(timezone(delta))
    return utc_value


def implausible(value: datetime, fetched_at: datetime | None) -> str | None:
    """``future`` / ``before_1990`` when a date cannot be a publication date of this page."""
    if value < EARLIEST:
        return "before_1990"
    reference = to_aware(fetched_at) if fetched_at else datetime.now(UTC)
    if value > reference + FUTURE_GRACE:
        return "future"
    return None


# /2024/04/26/slug, /2024/4/26.html, /2024-04-26-slug, /2024_04_26_slug; one separator
# throughout, so /2023/10/3-fragen-an (a slug counting "3 questions") is no day
_URL_DATE = re.compile(
    r"/((?:19|20)\d{2})/(\d{1,2})/(\d{1,2}(?=/|\.html?|$)|\d{2}(?=[_-]))"
    r"|[/_-]((?:19|20)\d{2})([_-])(\d{1,2})\5(\d{1,2})(?=/|[_-]|\.html?|$)"
)
_UPDATE_WORDS = re.compile(
    r"\b(?:updated?|last modified|modified|revised|aktualisiert|geändert|stand|zuletzt|"
    r"mis à jour|mise à jour|modifié|actualizado|actualizada|actualización|aggiornato|"
    r"aggiornata|aggiornamento|modificato|atualizado|atualizada|atualização|bijgewerkt|"
    r"gewijzigd|diperbarui|zaktualizowano|aktualizováno|aktualizované|frissítve|güncellendi|"
    r"güncelleme|uppdaterad|oppdatert|opdateret|päivitetty|ažurirano|actualizat|"
    r"ενημερώθηκε|обновлено|обновлен|оновлено|"
    # a clock, not a date of the page: "Aktuelle Zeit: 14.10.2020, 12:18"
    r"aktuelle zeit|current time|it is currently|heure actuelle|hora actual|ora attuale)\b|"
    r"更新|修改|수정|업데이트",
    re.IGNORECASE,
)


def url_day(url: str | None) -> date | None:
    """The day a ``/2024/04/26/`` (or ``/2024-4-26-``) path segment states, else None."""
    match = _URL_DATE.search(urlsplit(url or "").path)
    if not match:
        return None
    year, month, day = (
        (match[1], match[2], match[3]) if match[1] else (match[4], match[6], match[7])
    )
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def is_relative(text: str) -> bool:
    """Whether a date string is relative to "now" ("3 hours ago", "gestern", "hier")."""
    return bool(_RELATIVE_WORDS.search(text)) or bool(re.search(r"\b\d+\s*(?:h|min)\b", text))


def is_update_line(text: str) -> bool:
    """Whether a visible dateline dates an update ("Aktualisiert: ...", "mis à jour le ...") or
    is a clock ("Current time: ...") rather than the publication."""
    return bool(_UPDATE_WORDS.search(text))


def states_utc(text: str) -> bool:
    """Whether a date string states UTC itself (``Z``, ``+00:00``, ``GMT``, ``UTC``)."""
    return bool(re.search(r"(?:Z|[+-]00:?00|\bGMT|\bUTC)\s*$", text.strip(), re.IGNORECASE))


def shift_to_day(value: datetime, day: date) -> datetime | None:
    """The same instant in the smallest whole-hour offset whose calendar day is ``day``.

    For a UTC timestamp a page also dates one day later or earlier in its visible dateline or
    its URL: the publisher's offset is not stated, but its day is, and the day is what readers,
    per-day counts and date filters use. None when no offset within ±14 h reaches ``day``.
    """
    utc = value.astimezone(UTC)
    step = 1 if day > utc.date() else -1
    for hours in range(step, 15 * step, step):
        local = utc.astimezone(timezone(timedelta(hours=hours)))
        if local.date() == day:
            return local
    return None


def local_isoformat(utc_value: datetime | None, offset_minutes: int | None) -> str | None:
    """A stored UTC time written in the offset the publisher gave, as ISO 8601.

    The archive keeps ``published`` in UTC plus ``published_offset`` (minutes east of UTC, None
    when the page stated none). This is the one spelling for output: ``2024-04-26T00:30:00+02:00``
    with an offset, ``2024-04-25T22:30:00Z`` without one. None for None.
    """
    if utc_value is None:
        return None
    utc = as_utc(utc_value)
    if offset_minutes is None:
        return utc.isoformat().replace("+00:00", "Z")
    return utc.astimezone(timezone(timedelta(minutes=offset_minutes))).isoformat()


def local_day(utc_value: datetime, offset_minutes: int | None) -> date:
    """The publisher's calendar day of a stored UTC time (the UTC day when no offset is known)."""
    return as_utc(utc_value).astimezone(timezone(timedelta(minutes=offset_minutes or 0))).date()


@lru_cache(maxsize=64)
def _external_parser(languages: tuple[str, ...]) -> Any:
    from dateparser import DateDataParser

    # htmldate's own settings (htmldate.extractors.get_external_parser), plus the languages
    return DateDataParser(
        languages=list(languages),
        settings={
            "NORMALIZE": True,
            "PARSERS": ["custom-formats", "absolute-time"],
            "PREFER_DATES_FROM": "past",
            "PREFER_LOCALE_DATE_ORDER": True,
            "RETURN_AS_TIMEZONE_AWARE": False,
            "STRICT_PARSING": True,
        },
    )


@contextmanager
def hinted_external_parser(languages: tuple[str, ...]) -> Iterator[None]:
    """Make htmldate's extensive search use a dateparser limited to ``languages``.

    htmldate builds one unhinted parser for the process; extraction runs one page at a time per
    process (a process pool), so swapping the module's factory around one call is safe there.
    """
    from htmldate import extractors

    original = extractors.get_external_parser
    # a lambda stands in for htmldate's factory function, of a narrower declared type
    extractors.get_external_parser = lambda: _external_parser(languages)  # type: ignore[assignment]
    try:
        yield
    finally:
        extractors.get_external_parser = original
