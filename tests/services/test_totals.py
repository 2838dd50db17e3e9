"""Line and document totals: the rounding rule of services/money.py, checked as invariants
over generated documents in currencies with 0, 2, 3 and 4 decimals.

These run build_lines directly (no database): it validates the lines, prices them and
sets the parent's totals, exactly as createInvoice/updateInvoice do before storing.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.invoices import Invoice, InvoiceLine
from models.types import SCALE
from services.errors import BadInput
from services.lines import LineData, build_lines
from services.money import MAX_AMOUNT, currency_precision

CURRENCIES = ("USD", "EUR", "JPY", "KRW", "KWD", "BHD", "CLF")
"""2, 2, 0, 0, 3, 3 and 4 decimals."""

PROPERTIES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def invoice(currency: str) -> Invoice:
    return Invoice(account_id=uuid.uuid4(), client_id=uuid.uuid4(), currency=currency)


def places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def half_up(value: Fraction, digits: int) -> Decimal:
    """An independent rounding: exact rational arithmetic, half away from zero."""
    scaled = value * 10**digits
    whole = scaled.numerator // scaled.denominator
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(whole).scaleb(-digits)


def percent(max_value: int = 100) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=0, max_value=max_value, places=SCALE)


@st.composite
def documents(draw: st.DrawFn, *, max_price: int = 10**7) -> tuple[str, list[LineData]]:
    currency = draw(st.sampled_from(CURRENCIES))
    line = st.builds(
        LineData,
        description=st.just("Work"),
        quantity=st.decimals(min_value=0, max_value=10**5, places=SCALE),
        unit_price=st.decimals(
            min_value=0, max_value=max_price, places=currency_precision(currency)
        ),
        discount_percent=percent(),
        tax_rate=percent(),
    )
    return currency, draw(st.lists(line, max_size=12))


@PROPERTIES
@given(documents())
def test_document_totals_add_up_exactly(document):
    currency, lines = document
    parent = invoice(currency)
    rows = build_lines(InvoiceLine, "invoice_id", parent, lines)
    digits = currency_precision(currency)
    # the total is subtotal - discount + tax, and the sum of the line totals
    assert parent.total == parent.subtotal - parent.discount_total + parent.tax_total
    assert parent.total == sum((row.line_total for row in rows), Decimal(0))
    assert parent.subtotal == sum((row.line_subtotal for row in rows), Decimal(0))
    assert parent.discount_total == sum((row.line_discount for row in rows), Decimal(0))
    assert parent.tax_total == sum((row.line_tax for row in rows), Decimal(0))
    amounts = [parent.subtotal, parent.discount_total, parent.tax_total, parent.total]
    for row in rows:
        assert row.line_total == row.line_subtotal - row.line_discount + row.line_tax
        amounts += [row.line_subtotal, row.line_discount, row.line_tax, row.line_total]
    # every amount has at most the currency's decimals, is never negative, and fits
    for amount in amounts:
        assert places(amount) <= digits, (amount, currency)
        assert Decimal(0) <= amount < MAX_AMOUNT


@PROPERTIES
@given(documents())
def test_each_line_is_rounded_half_up_at_the_minor_unit(document):
    currency, lines = document
    rows = build_lines(InvoiceLine, "invoice_id", invoice(currency), lines)
    digits = currency_precision(currency)
    for line, row in zip(lines, rows, strict=True):
        subtotal = half_up(Fraction(line.quantity) * Fraction(line.unit_price), digits)
        discount = half_up(Fraction(subtotal) * Fraction(line.discount_percent) / 100, digits)
        tax = half_up(Fraction(subtotal - discount) * Fraction(line.tax_rate) / 100, digits)
        assert (row.line_subtotal, row.line_discount, row.line_tax) == (subtotal, discount, tax)


@PROPERTIES
@given(documents(), st.randoms(use_true_random=False))
def test_totals_do_not_depend_on_line_order(document, random):
    currency, lines = document
    shuffled = list(lines)
    random.shuffle(shuffled)
    first, second = invoice(currency), invoice(currency)
    build_lines(InvoiceLine, "invoice_id", first, lines)
    build_lines(InvoiceLine, "invoice_id", second, shuffled)
    assert (first.subtotal, first.discount_total, first.tax_total, first.total) == (
        second.subtotal,
        second.discount_total,
        second.tax_total,
        second.total,
    )


def below_limit(digits: int) -> st.SearchStrategy[Decimal]:
    """Values below MAX_AMOUNT with ``digits`` decimals, spread evenly over magnitudes
    (from 10**-digits up to just below the limit)."""
    top = int(MAX_AMOUNT) * 10**digits - 1
    scaled = st.builds(
        lambda leading, exponent: min(top, leading * 10**exponent),
        st.integers(min_value=0, max_value=9999),
        st.integers(min_value=0, max_value=len(str(top)) - 1),
    )
    return scaled.map(lambda n: Decimal(n).scaleb(-digits))


@PROPERTIES
@given(
    currency=st.sampled_from(CURRENCIES),
    quantity=below_limit(SCALE),
    unit_price=st.data(),
    discount=percent(),
    tax=percent(),
    copies=st.integers(min_value=1, max_value=3),
)
def test_amounts_too_large_are_bad_input_never_a_crash(
    currency, quantity, unit_price, discount, tax, copies
):
    # any line whose values are each acceptable is either priced below the limit or
    # refused as bad input on a named field
    parent = invoice(currency)
    price = unit_price.draw(below_limit(currency_precision(currency)))
    line = LineData("Big", quantity, price, discount, tax)
    refused: BadInput | None = None
    try:
        build_lines(InvoiceLine, "invoice_id", parent, [line] * copies)
    except BadInput as error:
        refused = error
    if refused is not None:
        assert refused.field in {"lines", "lines.0.quantity"}
        return
    for amount in (parent.subtotal, parent.discount_total, parent.tax_total, parent.total):
        assert Decimal(0) <= amount < MAX_AMOUNT


def test_a_product_beyond_decimal_precision_is_bad_input():
    # 99,999,999,999,999 x 99,999,999,999,999.99 has more digits than Decimal carries
    line = LineData("Huge", Decimal("99999999999999"), Decimal("99999999999999.99"))
    with pytest.raises(BadInput) as raised:
        build_lines(InvoiceLine, "invoice_id", invoice("USD"), [line])
    assert raised.value.field == "lines.0.quantity"


def test_a_subtotal_hidden_by_full_discounts_must_still_fit():
    # each line is allowed and the total is 0, but the subtotal would not fit
    line = LineData("Free", Decimal(1), Decimal("90000000000000"), discount_percent=Decimal(100))
    parent = invoice("USD")
    build_lines(InvoiceLine, "invoice_id", parent, [line])
    assert (parent.subtotal, parent.total) == (Decimal("90000000000000.00"), Decimal("0.00"))
    with pytest.raises(BadInput) as raised:
        build_lines(InvoiceLine, "invoice_id", invoice("USD"), [line, line])
    assert raised.value.field == "lines"


@pytest.mark.parametrize(
    ("currency", "unit_price", "expected"),
    [
        # 3 x 0.125 = 0.375 ; 10% tax = 0.0375 -> 0.038 (half up at 3 decimals)
        ("KWD", "0.125", ("0.375", "0.038", "0.413")),
        ("BHD", "0.125", ("0.375", "0.038", "0.413")),
        # 3 x 125 = 375 ; 10% tax = 37.5 -> 38 (whole yen)
        ("JPY", "125", ("375", "38", "413")),
        # 3 x 1.25 = 3.75 ; 10% tax = 0.375 -> 0.38
        ("USD", "1.25", ("3.75", "0.38", "4.13")),
    ],
)
def test_half_up_at_each_currencys_minor_unit(currency, unit_price, expected):
    parent = invoice(currency)
    line = LineData("Item", Decimal(3), Decimal(unit_price), tax_rate=Decimal(10))
    build_lines(InvoiceLine, "invoice_id", parent, [line])
    assert (str(parent.subtotal), str(parent.tax_total), str(parent.total)) == expected


def test_an_amount_finer_than_the_currency_is_refused_not_rounded():
    line = LineData("Item", Decimal(1), Decimal("1.0005"))
    with pytest.raises(BadInput) as raised:
        build_lines(InvoiceLine, "invoice_id", invoice("KWD"), [line])
    assert raised.value.field == "lines.0.unitPrice"
