"""Read-only row views (services.rows): columns by attribute, the model's properties
first, one class per view and set of columns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from sqlalchemy import literal, select
from sqlalchemy.engine import Row

from models.enums import InvoiceStatus
from resolvers.views import PricedLine
from services.rows import SHAPES, InvoiceView, RowView, shaped


def _row(**values: object) -> Row[Any]:
    """A real Core row with these columns, as a statement returns it (SQLite in memory)."""
    from sqlalchemy import create_engine

    engine = create_engine("sqlite://")
    statement = select(*(literal(value).label(name) for name, value in values.items()))
    with engine.connect() as connection:
        row = cast("Row[Any]", connection.execute(statement).one())
    engine.dispose()
    return row


def test_a_view_reads_its_row_by_attribute() -> None:
    view = RowView(_row(number="INV-7", amount=12, note=None))
    assert (view.number, view.amount, view.note) == ("INV-7", 12, None)
    assert "number='INV-7'" in repr(view)


def test_a_column_named_like_a_tuple_method_reads_the_column() -> None:
    view: Any = RowView(_row(count=3, index=9))  # typed as a tuple, whose methods these are
    assert (view.count, view.index) == (3, 9)


def test_a_missing_column_is_an_attribute_error() -> None:
    view = RowView(_row(number="INV-7"))
    try:
        _ = view.total
    except AttributeError:
        pass
    else:  # pragma: no cover - the assertion's message
        raise AssertionError("a column not read must not read as anything")
    assert not hasattr(view, "__await__")  # graphql-core asks list items this


def test_the_models_properties_come_before_columns() -> None:
    view = InvoiceView(
        _row(
            id="x",
            status=InvoiceStatus.SENT.value,
            total=Decimal("100.00"),
            amount_paid=Decimal("30.00"),
            credits_applied=Decimal("20.00"),
            currency="USD",
        )
    )
    assert view.balance == Decimal("50.00")


def test_views_of_the_same_columns_share_one_class() -> None:
    first = RowView(_row(a=1, b=2))
    second = RowView(_row(a=3, b=4))
    other = RowView(_row(b=5, a=6))
    assert type(first) is type(second)
    assert type(first) is not type(other)
    assert (other.a, other.b) == (6, 5)
    assert isinstance(first, RowView)
    assert shaped.cache_info().maxsize == SHAPES  # bounded: callers choose the columns


def test_a_priced_line_adds_the_currency_to_a_row_or_an_object() -> None:
    line = PricedLine(_row(description="Design", line_total=Decimal("10.5")), "EUR")
    assert (line.description, line.line_total, line.currency) == ("Design", Decimal("10.5"), "EUR")

    class Application:
        amount = Decimal("4.00")

    wrapped = PricedLine(Application(), "JPY")
    assert (wrapped.amount, wrapped.currency) == (Decimal("4.00"), "JPY")
