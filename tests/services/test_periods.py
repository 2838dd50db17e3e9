"""Send dates of recurring schedules: anchored to the start date, clamped to month ends."""

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.enums import Frequency
from services.recurring.periods import (
    add_months,
    first_period_on_or_after,
    next_period_after,
    period_date,
    send_dates,
)

MONTHS = {
    Frequency.MONTHLY: 1,
    Frequency.TWO_MONTHS: 2,
    Frequency.THREE_MONTHS: 3,
    Frequency.SIX_MONTHS: 6,
    Frequency.YEARLY: 12,
}
DAYS = {Frequency.WEEKLY: 7, Frequency.TWO_WEEKS: 14}

starts = st.dates(min_value=date(1900, 1, 1), max_value=date(2400, 12, 31))
frequencies = st.sampled_from(list(Frequency))
indexes = st.integers(min_value=0, max_value=400)


def first_dates(start, frequency, count):
    dates = send_dates(start, frequency, start)
    return [next(dates) for _ in range(count)]


def test_month_end_start_is_clamped_and_never_drifts():
    # a monthly schedule from Jan 31 in a leap year
    assert first_dates(date(2024, 1, 31), Frequency.MONTHLY, 6) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 6, 30),
    ]
    # and in a common year February ends on the 28th, March is back on the 31st
    assert first_dates(date(2023, 1, 31), Frequency.MONTHLY, 3) == [
        date(2023, 1, 31),
        date(2023, 2, 28),
        date(2023, 3, 31),
    ]


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        (Frequency.WEEKLY, [date(2025, 12, 29), date(2026, 1, 5), date(2026, 1, 12)]),
        (Frequency.TWO_WEEKS, [date(2025, 12, 29), date(2026, 1, 12), date(2026, 1, 26)]),
        (Frequency.MONTHLY, [date(2025, 12, 29), date(2026, 1, 29), date(2026, 2, 28)]),
        (Frequency.TWO_MONTHS, [date(2025, 12, 29), date(2026, 2, 28), date(2026, 4, 29)]),
        (Frequency.THREE_MONTHS, [date(2025, 12, 29), date(2026, 3, 29), date(2026, 6, 29)]),
        (Frequency.SIX_MONTHS, [date(2025, 12, 29), date(2026, 6, 29), date(2026, 12, 29)]),
        (Frequency.YEARLY, [date(2025, 12, 29), date(2026, 12, 29), date(2027, 12, 29)]),
    ],
)
def test_each_frequency_steps_from_the_start_date(frequency, expected):
    assert first_dates(date(2025, 12, 29), frequency, 3) == expected


def test_a_leap_day_start_repeats_yearly_on_the_last_day_of_february():
    assert first_dates(date(2024, 2, 29), Frequency.YEARLY, 5) == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


def test_first_period_on_or_after_a_day():
    start = date(2024, 1, 31)
    assert first_period_on_or_after(start, Frequency.MONTHLY, date(2023, 5, 1)) == start
    assert first_period_on_or_after(start, Frequency.MONTHLY, date(2024, 2, 29)) == date(
        2024, 2, 29
    )
    assert first_period_on_or_after(start, Frequency.MONTHLY, date(2024, 3, 1)) == date(2024, 3, 31)
    assert next_period_after(start, Frequency.MONTHLY, date(2024, 3, 31)) == date(2024, 4, 30)
    assert first_period_on_or_after(start, Frequency.WEEKLY, date(2024, 2, 1)) == date(2024, 2, 7)


@given(start=starts, frequency=frequencies, n=indexes)
def test_period_n_is_the_start_moved_by_n_steps(start, frequency, n):
    day = period_date(start, frequency, n)
    if frequency in DAYS:
        assert day == start + timedelta(days=DAYS[frequency] * n)
        return
    # the month is exactly n steps on; the day is the start's day or the month's last day
    months = (day.year - start.year) * 12 + day.month - start.month
    assert months == MONTHS[frequency] * n
    assert day.day == min(start.day, calendar.monthrange(day.year, day.month)[1])


@given(start=starts, frequency=frequencies, n=indexes)
def test_periods_strictly_increase_and_each_follows_the_previous(start, frequency, n):
    this, following = period_date(start, frequency, n), period_date(start, frequency, n + 1)
    assert this < following
    assert next_period_after(start, frequency, this) == following
    assert first_period_on_or_after(start, frequency, this) == this


@given(start=starts, frequency=frequencies, offset=st.integers(min_value=0, max_value=40_000))
def test_first_period_on_or_after_is_the_earliest_period_not_before_the_day(
    start, frequency, offset
):
    day = start + timedelta(days=offset)
    found = first_period_on_or_after(start, frequency, day)
    assert found >= day
    # it is a period of the schedule, and the period before it is before the day
    n = 0
    while period_date(start, frequency, n) < found:
        n += 1
    assert period_date(start, frequency, n) == found
    if n > 0:
        assert period_date(start, frequency, n - 1) < day


@given(day=starts, months=st.integers(min_value=-1200, max_value=1200))
def test_add_months_keeps_the_day_or_clamps_to_the_month_end(day, months):
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == min(day.day, calendar.monthrange(moved.year, moved.month)[1])


def test_a_negative_period_index_is_refused():
    with pytest.raises(ValueError, match="negative"):
        period_date(date(2024, 1, 1), Frequency.MONTHLY, -1)
