"""Property tests of plan-change proration (hypothesis, pure: no database): over random
plans, prices, quantities and moments, the preview is what is charged, every amount is
exact to the currency's minor unit, credit and charge follow the published rule, and
changing A -> B -> A within the same instant nets zero."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from models.enums import PlanInterval
from services.money import currency_precision
from services.subscriptions.periods import period_end, whole_days
from services.subscriptions.proration import prorate, round_exact, time_value

CURRENCIES = ("USD", "EUR", "JPY", "KWD", "CLF")


@dataclass(frozen=True)
class Plan:
    amount: Decimal
    currency: str
    interval: PlanInterval
    interval_count: int


@st.composite
def prices(draw, currency: str) -> Decimal:
    places = currency_precision(currency)
    units = draw(st.integers(min_value=0, max_value=10**9))
    return Decimal(units).scaleb(-places)


@st.composite
def changes(draw):
    """Two plans of one currency and period, a subscription period, and a moment in it."""
    currency = draw(st.sampled_from(CURRENCIES))
    interval = draw(st.sampled_from(list(PlanInterval)))
    count = draw(st.integers(min_value=1, max_value=12 if interval is PlanInterval.MONTH else 3))
    old = Plan(draw(prices(currency)), currency, interval, count)
    new = Plan(draw(prices(currency)), currency, interval, count)
    anchor = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(
        days=draw(st.integers(0, 3000)), seconds=draw(st.integers(0, 86399))
    )
    n = draw(st.integers(min_value=1, max_value=30))
    start, end = period_end(anchor, old, n - 1), period_end(anchor, old, n)
    span = int((end - start).total_seconds())
    at = start + timedelta(seconds=draw(st.integers(min_value=0, max_value=span)))
    quantity = draw(st.integers(min_value=1, max_value=50))
    return old, new, quantity, start, end, at


def exact_to_minor_unit(amount: Decimal, currency: str) -> bool:
    return amount == amount.quantize(Decimal(1).scaleb(-currency_precision(currency)))


@settings(max_examples=400, deadline=None)
@given(changes())
def test_the_preview_is_the_charge_exact_to_the_minor_unit(change):
    old, new, quantity, start, end, at = change
    # when the same change is previewed and then made (the same function, twice)
    preview = prorate(
        old=old, new=new, quantity=quantity, period_start=start, period_end=end, at=at
    )
    charged = prorate(
        old=old, new=new, quantity=quantity, period_start=start, period_end=end, at=at
    )
    # then both say the same, to the minor unit
    assert preview == charged
    for amount in (preview.credit, preview.charge, preview.amount_due, preview.credit_issued):
        assert amount >= 0
        assert exact_to_minor_unit(amount, old.currency)
    # and exactly one of "owed by the client" and "owed to the client" is non-zero
    assert preview.amount_due - preview.credit_issued == preview.net
    assert min(preview.amount_due, preview.credit_issued) == 0


@settings(max_examples=400, deadline=None)
@given(changes())
def test_unused_time_is_credited_and_remaining_time_charged_by_days(change):
    old, new, quantity, start, end, at = change
    result = prorate(old=old, new=new, quantity=quantity, period_start=start, period_end=end, at=at)
    days = whole_days(start, end)
    left = whole_days(at, end)
    assert (result.period_days, result.remaining_days) == (days, left)
    assert 0 <= left <= days
    # each side is price x quantity x days left / days, rounded half up on its own
    for price, amount in ((old.amount, result.credit), (new.amount, result.charge)):
        exact = Fraction(price) * quantity * left / days
        assert abs(Fraction(amount) - exact) <= Fraction(
            1, 2 * 10 ** currency_precision(old.currency)
        )
        assert amount <= price * quantity  # never more than a whole period


@settings(max_examples=400, deadline=None)
@given(changes())
def test_changing_there_and_back_in_the_same_instant_nets_zero(change):
    old, new, quantity, start, end, at = change
    there = prorate(old=old, new=new, quantity=quantity, period_start=start, period_end=end, at=at)
    back = prorate(old=new, new=old, quantity=quantity, period_start=start, period_end=end, at=at)
    # the credit of one step is the charge of the other
    assert (there.credit, there.charge) == (back.charge, back.credit)
    assert there.net + back.net == 0
    assert there.amount_due == back.credit_issued


@settings(max_examples=200, deadline=None)
@given(changes())
def test_nothing_is_prorated_during_a_trial(change):
    old, new, quantity, start, end, at = change
    result = prorate(
        old=old,
        new=new,
        quantity=quantity,
        period_start=start,
        period_end=end,
        at=at,
        trialing=True,
    )
    assert (result.credit, result.charge, result.net) == (Decimal(0), Decimal(0), Decimal(0))


def test_a_worked_example():
    # 30-day period, 10 whole days left, 2 seats: 30.00 -> 45.00 a month
    start = datetime(2026, 4, 1, 9, tzinfo=UTC)
    end = datetime(2026, 5, 1, 9, tzinfo=UTC)
    at = datetime(2026, 4, 21, 8, tzinfo=UTC)  # 10 days and 1 hour left
    old = Plan(Decimal("30.00"), "USD", PlanInterval.MONTH, 1)
    new = Plan(Decimal("45.00"), "USD", PlanInterval.MONTH, 1)
    result = prorate(old=old, new=new, quantity=2, period_start=start, period_end=end, at=at)
    assert (result.period_days, result.remaining_days) == (30, 10)
    assert (result.credit, result.charge, result.amount_due) == (
        Decimal("20.00"),
        Decimal("30.00"),
        Decimal("10.00"),
    )


def test_rounding_is_half_up_per_currency():
    assert round_exact(Fraction(1, 200), "USD") == Decimal("0.01")
    assert round_exact(Fraction(1, 201), "USD") == Decimal("0.00")
    assert round_exact(Fraction(5, 2), "JPY") == Decimal(3)
    assert round_exact(Fraction(1, 2000), "KWD") == Decimal("0.001")
    assert str(time_value(Decimal("10.00"), 1, "USD", 0, 30)) == "0.00"


def test_periods_keep_the_anchor_day_clamped_to_short_months():
    anchor = datetime(2026, 1, 31, 12, tzinfo=UTC)
    monthly = Plan(Decimal(1), "USD", PlanInterval.MONTH, 1)
    ends = [period_end(anchor, monthly, n).date().isoformat() for n in range(1, 5)]
    assert ends == ["2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]
    weekly = Plan(Decimal(1), "USD", PlanInterval.WEEK, 2)
    assert period_end(anchor, weekly, 1) - anchor == timedelta(days=14)
    yearly = Plan(Decimal(1), "USD", PlanInterval.YEAR, 1)
    assert period_end(datetime(2024, 2, 29, tzinfo=UTC), yearly, 1).date().isoformat() == (
        "2025-02-28"
    )
