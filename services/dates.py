"""Dates and times as the account's clients read them, in the portal and in mails alike:
in the account's time zone (an IANA name, ``Account.timezone``) and written by Babel in
its locale (``Account.locale``). Timestamps are stored and answered in UTC; a moment
near midnight UTC can fall on the previous (or next) day where the business is.

A calendar date (an invoice's due date) has no time zone and is written as it is."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format

from services.money import DEFAULT_LOCALE

DEFAULT_TIMEZONE = "UTC"


@cache
def zone(name: str | None) -> tzinfo:
    """The time zone called ``name``; UTC for none or one Python does not know."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def parse(value: date | datetime | str) -> date | datetime:
    """A date or datetime, from itself or its ISO text (as the API answers them). A
    datetime without an offset is taken as UTC. Raises ValueError for other text."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    text = value.strip()
    if len(text) == 10:
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_day(value: date | datetime | str, *, timezone: str | None) -> date:
    """The calendar day of ``value`` where the business is (a date as it is)."""
    parsed = parse(value)
    if isinstance(parsed, datetime):
        return parsed.astimezone(zone(timezone)).date()
    return parsed


def format_day(
    value: date | datetime | str, *, locale: str | None, timezone: str | None = None
) -> str:
    """The day of ``value`` in ``timezone``, Babel's medium date in ``locale``:
    ``Dec 2, 2026`` (en_US), ``02.12.2026`` (de_DE)."""
    day = local_day(value, timezone=timezone)
    try:
        return format_date(day, format="medium", locale=locale or DEFAULT_LOCALE)
    except (UnknownLocaleError, ValueError):
        return format_date(day, format="medium", locale=DEFAULT_LOCALE)


def format_moment(value: datetime | str, *, locale: str | None, timezone: str | None = None) -> str:
    """A moment in ``timezone``: its medium date and short time in ``locale``
    (``Dec 1, 2026, 4:30 PM`` in en_US, ``01.12.2026, 16:30`` in de_DE). A plain date
    is written as a day."""
    parsed = parse(value)
    if not isinstance(parsed, datetime):
        return format_day(parsed, locale=locale)
    local = parsed.astimezone(zone(timezone))
    try:
        return _moment(local, locale or DEFAULT_LOCALE)
    except (UnknownLocaleError, ValueError):
        return _moment(local, DEFAULT_LOCALE)


def _moment(local: datetime, locale: str) -> str:
    pattern = str(get_datetime_format("medium", locale=locale))
    day = format_date(local.date(), format="medium", locale=locale)
    time = format_time(local.timetz(), format="short", locale=locale)
    return pattern.replace("{1}", day).replace("{0}", time)
