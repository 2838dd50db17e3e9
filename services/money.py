"""Exact money arithmetic.

The one rounding rule, the same for every currency (documented in the README):

* every amount is rounded *half up* (away from zero) to its currency's minor unit
  (ISO 4217 via Babel/CLDR: USD and EUR 2, JPY and KRW 0, KWD, BHD and OMR 3, CLF 4);
* on each line, in this order: ``subtotal = round(quantity x unit price)``,
  ``discount = round(subtotal x discount% / 100)``,
  ``tax = round((subtotal - discount) x tax% / 100)``, and
  ``line total = subtotal - discount + tax`` (exact, no further rounding);
* document totals are exact sums of the rounded line amounts, so a total always equals
  the sum of what its lines show and never depends on the order of the lines.

Amounts a user types (unit prices, payments, deposits) are never rounded: a value finer
than the currency's minor unit is refused (:func:`check_amount`). Every stored amount
stays below :data:`MAX_AMOUNT`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, list_currencies

from models.types import SCALE
from services.errors import BadInput

HUNDRED = Decimal(100)
ZERO = Decimal(0)
MAX_AMOUNT = Decimal(10) ** 14
"""Largest amount, quantity or total accepted: well inside what a scaled BIGINT holds."""
DEFAULT_LOCALE = "en_US"
"""How amounts are written while an account has no locale of its own."""


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def validate_currency(code: str, *, field: str = "currency") -> str:
    code = code.strip().upper()
    if code not in _known_currencies():
        raise BadInput(f"{code!r} is not an ISO 4217 currency code.", field=field)
    return code


@cache
def currency_precision(code: str) -> int:
    """Minor-unit digits of ``code`` (2 for USD, 0 for JPY, 3 for KWD)."""
    return int(get_currency_precision(code))


@cache
def _quantum(currency: str) -> Decimal:
    """The currency's minor unit (``0.01``, ``1``, ``0.001``)."""
    return Decimal(1).scaleb(-currency_precision(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def round_money_quanta() -> dict[str, Decimal]:
    """The minor unit of every ISO 4217 currency, for rounding as :func:`round_money`
    does where a lookup must be cheaper than its calls."""
    return {currency: _quantum(currency) for currency in _known_currencies()}


def format_money(
    amount: Decimal, currency: str, *, locale: str = DEFAULT_LOCALE, symbol: bool = True
) -> str:
    """``amount`` as people read it, in mails, messages and PDFs alike: rounded half up
    to the currency's minor unit (:func:`round_money`), then written by Babel in
    ``locale``'s style (``$1,234.50`` and ``¥1,500`` in en_US, ``1.234,50 €`` in de_DE,
    ``-$5.00``). ``symbol=False`` leaves the currency sign out (``1,234.50``) where the
    currency is named beside the amount.

    Babel itself would round half to even (``0.125`` -> ``0.12``), hence the rounding
    first; a negative amount that rounds to zero shows as zero, not ``-0.00``."""
    rounded = round_money(amount, currency)
    if not rounded:
        rounded = rounded.copy_abs()
    pattern = None if symbol else _pattern_without_symbol(locale)
    return format_currency(rounded, currency, format=pattern, locale=locale, currency_digits=True)


@cache
def _pattern_without_symbol(locale: str) -> str:
    """``locale``'s currency pattern with the sign and the space beside it removed
    (``#,##0.00 ¤`` -> ``#,##0.00``), so grouping and the minus sign stay the locale's."""
    pattern = Locale.parse(locale).currency_formats["standard"].pattern
    return ";".join(
        part.replace("\N{CURRENCY SIGN}", "").strip(" \N{NO-BREAK SPACE}\N{NARROW NO-BREAK SPACE}")
        for part in pattern.split(";")
    )


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def check_amount(value: Decimal, currency: str, *, field: str, allow_zero: bool = True) -> Decimal:
    """An amount a user typed: finite, not negative, and no finer than the currency's
    minor unit (10.005 USD is refused, not rounded)."""
    if not value.is_finite():
        raise BadInput("Amount must be a finite number.", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise BadInput(
            "Amount must be positive." if not allow_zero else "Amount cannot be negative.",
            field=field,
        )
    if value >= MAX_AMOUNT:
        raise BadInput(f"Amount must be below {MAX_AMOUNT:,}.", field=field)
    if _decimal_places(value) > currency_precision(currency):
        raise BadInput(
            f"{currency} amounts have at most {currency_precision(currency)} decimal places.",
            field=field,
        )
    return round_money(value, currency)


def check_quantity(value: Decimal, *, field: str, allow_zero: bool = True) -> Decimal:
    """A quantity or a percentage: finite, not negative, at most :data:`SCALE` places."""
    try:
        finite = value.is_finite()
    except InvalidOperation:  # pragma: no cover - Decimal always answers
        finite = False
    if not finite:
        raise BadInput("Must be a finite number.", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise BadInput("Cannot be negative." if allow_zero else "Must be positive.", field=field)
    if value >= MAX_AMOUNT:
        raise BadInput(f"Must be below {MAX_AMOUNT:,}.", field=field)
    if _decimal_places(value) > SCALE:
        raise BadInput(f"At most {SCALE} decimal places.", field=field)
    return value


@dataclass(frozen=True, slots=True)
class LineAmounts:
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


def line_amounts(
    *,
    quantity: Decimal,
    unit_price: Decimal,
    discount_percent: Decimal,
    tax_rate: Decimal,
    currency: str,
) -> LineAmounts:
    subtotal = round_money(quantity * unit_price, currency)
    discount = round_money(subtotal * discount_percent / HUNDRED, currency)
    tax = round_money((subtotal - discount) * tax_rate / HUNDRED, currency)
    return LineAmounts(subtotal, discount, tax, subtotal - discount + tax)


@dataclass(frozen=True, slots=True)
class DocumentTotals:
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    total: Decimal


def document_totals(lines: Iterable[LineAmounts]) -> DocumentTotals:
    subtotal = discount = tax = ZERO
    for line in lines:
        subtotal += line.subtotal
        discount += line.discount
        tax += line.tax
    return DocumentTotals(subtotal, discount, tax, subtotal - discount + tax)
