"""Period arithmetic of recurring schedules.

Every send date is computed from the schedule's start date, never from the previous send
date: period ``n`` of a monthly schedule that starts on Jan 31 is Jan 31 + n months,
clamped to the month's last day (Feb 28 or 29, Mar 31, Apr 30, ...), so a short month
never shifts the dates that follow it.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta

from models.enums import Frequency

_DAYS: dict[Frequency, int] = {Frequency.WEEKLY: 7, Frequency.TWO_WEEKS: 14}
_MONTHS: dict[Frequency, int] = {
    Frequency.MONTHLY: 1,
    Frequency.TWO_MONTHS: 2,
    Frequency.THREE_MONTHS: 3,
    Frequency.SIX_MONTHS: 6,
    Frequency.YEARLY: 12,
}


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the target month's end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def period_date(start: date, frequency: Frequency, n: int) -> date:
    """The send date of period ``n`` (0 is the start date itself)."""
    if n < 0:
        raise ValueError("period index must not be negative")
    if frequency in _DAYS:
        return start + timedelta(days=_DAYS[frequency] * n)
    return add_months(start, _MONTHS[frequency] * n)


def first_period_on_or_after(start: date, frequency: Frequency, day: date) -> date:
    """The earliest send date of the schedule that is not before ``day``."""
    if day <= start:
        return start
    if frequency in _DAYS:
        step = _DAYS[frequency]
        n = -(-(day - start).days // step)  # ceiling division
        return period_date(start, frequency, n)
    step = _MONTHS[frequency]
    months = (day.year - start.year) * 12 + (day.month - start.month)
    # Period n falls in the month start.month + n*step, so no period before n = months//step
    # reaches day's month; at most two more steps reach day itself.
    n = months // step
    candidate = period_date(start, frequency, n)
    while candidate < day:
        n += 1
        candidate = period_date(start, frequency, n)
    return candidate


def next_period_after(start: date, frequency: Frequency, day: date) -> date:
    """The earliest send date of the schedule that is strictly after ``day``."""
    return first_period_on_or_after(start, frequency, day + timedelta(days=1))


def send_dates(start: date, frequency: Frequency, first: date) -> Iterator[date]:
    """The schedule's send dates from ``first`` on (``first`` itself when it is one)."""
    current = first_period_on_or_after(start, frequency, first)
    while True:
        yield current
        current = next_period_after(start, frequency, current)


def schedule_dates(start: date, frequency: Frequency, next_send: date) -> Iterator[date]:
    """The send dates of a schedule whose next send date is ``next_send``, soonest first.

    The first is ``next_send`` itself, the day the scheduler issues next, taken as stored
    (never moved onto the start date's anchor); each following date is the one the
    scheduler moves the next send date to once it has issued the one before
    (:func:`next_period_after`). So a schedule's next send date and its upcoming dates
    always agree, and the upcoming dates are the days invoices will be issued.
    """
    current = next_send
    while True:
        yield current
        current = next_period_after(start, frequency, current)
