"""Stripe counts money in integer minor units (cents; yen have none): the conversion, exact,
from :func:`services.money.currency_precision`."""

from __future__ import annotations

from decimal import Decimal

from services.money import currency_precision


def to_minor_units(amount: Decimal, currency: str) -> int:
    precision = currency_precision(currency)
    scaled = amount.scaleb(precision)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency} allows")
    return int(scaled)


def from_minor_units(units: int, currency: str) -> Decimal:
    return Decimal(units).scaleb(-currency_precision(currency))
