"""Billing periods of a plan.

Periods are counted from the subscription's billing anchor, never from the previous
period's end: period ``n`` ends ``n`` intervals after the anchor, with months clamped to
the month's last day (an anchor on Jan 31 gives Feb 28, Mar 31, Apr 30, ...), so a short
month never shifts the periods after it. Times keep the anchor's time of day (UTC), so a
period is always a whole number of days long.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from models.enums import PlanInterval
from services.recurring.periods import add_months

DAY = timedelta(days=1)


class Interval(Protocol):
    @property
    def interval(self) -> PlanInterval: ...
    @property
    def interval_count(self) -> int: ...


def period_end(anchor: datetime, plan: Interval, n: int) -> datetime:
    """The end of period ``n`` (``n`` >= 0; period 0 "ends" at the anchor itself)."""
    if n < 0:
        raise ValueError("period index must not be negative")
    steps = plan.interval_count * n
    if plan.interval is PlanInterval.WEEK:
        return anchor + timedelta(weeks=steps)
    months = steps * (12 if plan.interval is PlanInterval.YEAR else 1)
    return datetime.combine(add_months(anchor.date(), months), anchor.timetz())


def whole_days(start: datetime, end: datetime) -> int:
    """Whole days from ``start`` to ``end`` (a started day is not counted); 0 when
    ``end`` is not after ``start``."""
    if end <= start:
        return 0
    return (end - start) // DAY


def same_period(a: Interval, b: Interval) -> bool:
    """Whether both bill over the same period (e.g. every 3 months)."""
    return (a.interval, a.interval_count) == (b.interval, b.interval_count)
