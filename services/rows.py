"""Read-only rows: a table's columns as a plain row, with its model's computed properties.

A list that is only read (a page of 100 invoices, the dashboard's parts) does not need
ORM objects: building each one (instance state, identity map entry, attribute
instrumentation) cost more than the statement that read it. A view wraps the Core row
of the model's columns — read by attribute like the model, each column converted by its
type as the ORM would (money as exact ``Decimal``, datetimes aware UTC) — and gives it
the model's own computed properties (the same property objects, so the rules are
written once). Views are never added to a session: anything that changes a row reads
it again through :mod:`services.access` in its unit of work.

A view is a tuple of the row's values whose class has a property per column, made once
per view and set of columns (:func:`shaped`), like a named tuple: a column is read in C
(``itemgetter``), not through a Python ``__getattr__`` after a failed lookup — a page
of 100 invoices with 500 lines reads some 3,000 columns this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Self, TypeVar

from sqlalchemy import Row

from models.invoices import Invoice

INVOICE_ALWAYS = ("id", "created_at", "currency")
"""The columns every invoice view has, whatever its fields select: its id and cursor,
and the currency its amounts are shown in."""


SHAPES = 512
"""View classes kept (view x set of columns; least recently used dropped first): the
sets come from the selections of queries, which callers choose."""

V = TypeVar("V", bound="RowView")


class RowView(tuple[Any, ...]):
    """A Core row read by attribute; subclasses add their model's properties (which
    win over a column of the same name)."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __new__(cls, row: Row[Any]) -> Self:
        view: Self = tuple.__new__(shaped(cls, row._fields), row)
        return view

    if TYPE_CHECKING:  # columns are properties of the shaped class, made at run time

        def __getattr__(self, name: str) -> Any: ...

    def __repr__(self) -> str:
        values = ", ".join(
            f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True)
        )
        return f"{type(self).__name__}({values})"


def _defined_by(view: type, name: str) -> bool:
    """Whether ``view`` (not ``tuple``: a column may be called ``count``) has ``name``."""
    return any(name in vars(kind) for kind in view.__mro__ if kind not in (tuple, object))


@lru_cache(maxsize=SHAPES)
def shaped(view: type[V], fields: tuple[str, ...]) -> type[V]:
    """``view`` with a property per column of ``fields``, in their order."""
    namespace: dict[str, Any] = {"__slots__": (), "_fields": fields}
    for index, name in enumerate(fields):
        if not _defined_by(view, name):
            namespace[name] = property(itemgetter(index))
    return type(view.__name__, (view,), namespace)


def views_of(view: type[V], rows: Sequence[Row[Any]], *, but_last: bool = False) -> list[V]:
    """``view(row)`` for every row of one result: they share their columns, so the
    shaped class is looked up once, not per row (a row's ``_fields`` is built anew
    each time it is asked: 600 times for a page of 100 invoices and their lines).
    ``but_last``: the rows' last column is no column of the view (a page's total)."""
    if not rows:
        return []
    new = tuple.__new__
    if but_last:
        shape = shaped(view, rows[0]._fields[:-1])
        return [new(shape, row[:-1]) for row in rows]
    shape = shaped(view, rows[0]._fields)
    return [new(shape, row) for row in rows]


class InvoiceView(RowView):
    """An invoice as lists read it: its columns, ``applied`` and ``balance``."""

    __slots__ = ()

    applied: Any = vars(Invoice)["applied"]
    balance: Any = vars(Invoice)["balance"]
