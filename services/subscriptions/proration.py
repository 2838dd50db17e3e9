"""Proration of a plan change, exact to the currency's minor unit.

The rule (documented in the README): the change takes effect at once and the current
period keeps its dates. Counting whole days left in the period (the day already started
counts as used), the unused time of the old plan is credited and the remaining time of
the new plan is charged, each as ``price x quantity x days left / days in the period``
rounded half up to the currency's minor unit, separately. The difference
(``charge - credit``) is invoiced and charged at once when positive, or given to the
client as a credit note when negative. During a free trial nothing is prorated.

The preview and the change call the same :func:`prorate`, so what a client is shown is
what is charged; changing A -> B -> A within the same instant nets zero (the credit of
one step is the charge of the other).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from services.money import ZERO, currency_precision, round_money
from services.subscriptions.periods import whole_days


class Priced(Protocol):
    @property
    def amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Proration:
    currency: str
    period_start: datetime
    period_end: datetime
    period_days: int
    remaining_days: int
    credit: Decimal
    """The old plan's unused time."""
    charge: Decimal
    """The new plan's remaining time."""

    @property
    def net(self) -> Decimal:
        """``charge - credit``: positive is owed by the client, negative is owed to it."""
        return self.charge - self.credit

    @property
    def amount_due(self) -> Decimal:
        """What is invoiced and charged at once."""
        return max(self.net, ZERO)

    @property
    def credit_issued(self) -> Decimal:
        """What the client is given as a credit note."""
        return max(-self.net, ZERO)


def time_value(
    price: Decimal, quantity: int, currency: str, remaining_days: int, period_days: int
) -> Decimal:
    """``price x quantity x remaining / period`` rounded half up to the minor unit,
    computed exactly (no intermediate rounding)."""
    if remaining_days <= 0 or period_days <= 0:
        return round_exact(Fraction(0), currency)
    exact = Fraction(price) * quantity * min(remaining_days, period_days) / period_days
    return round_exact(exact, currency)


def round_exact(value: Fraction, currency: str) -> Decimal:
    """A non-negative exact value rounded half up to ``currency``'s minor unit."""
    precision = currency_precision(currency)
    scaled = value * 10**precision
    units = (scaled.numerator * 2 + scaled.denominator) // (scaled.denominator * 2)
    return round_money(Decimal(units).scaleb(-precision), currency)  # written as 0.00, not 0E-2


def prorate(
    *,
    old: Priced,
    new: Priced,
    quantity: int,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    trialing: bool = False,
) -> Proration:
    """What moving from ``old`` to ``new`` at ``at`` credits and charges (both plans in
    one currency and billed over the same period; the caller checks)."""
    currency = new.currency
    period_days = whole_days(period_start, period_end)
    remaining = 0 if trialing else min(whole_days(at, period_end), period_days)
    return Proration(
        currency=currency,
        period_start=period_start,
        period_end=period_end,
        period_days=period_days,
        remaining_days=remaining,
        credit=time_value(old.amount, quantity, currency, remaining, period_days),
        charge=time_value(new.amount, quantity, currency, remaining, period_days),
    )
