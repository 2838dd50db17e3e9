"""Read-only rows: a table's columns as a plain row, with its model's computed properties.

A list that is only read (a page of 100 invoices, the dashboard's parts) does not need
ORM objects: building each one (instance state, identity map entry, attribute
instrumentation) cost more than the statement that read it. A view wraps the Core row
of the model's columns — read by attribute like the model, each column converted by its
type as the ORM would (money as exact ``Decimal``, datetimes aware UTC) — and gives it
the model's own computed properties (the same property objects, so the rules are
written once). Views are never added to a session: anything that changes a row reads
it again through :mod:`services.access` in its unit of work.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from models.invoices import Invoice

INVOICE_ALWAYS = ("id", "created_at", "currency")
"""The columns every invoice view has, whatever its fields select: its id and cursor,
and the currency its amounts are shown in."""


class RowView:
    """A Core row read by attribute; subclasses add their model's properties."""

    __slots__ = ("_row",)

    def __init__(self, row: Row[Any]) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # graphql-core asks every list item for ``__await__``:
            raise AttributeError(name)  # a row's miss builds a costly error message
        return getattr(self._row, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._row!r})"


class InvoiceView(RowView):
    """An invoice as lists read it: its columns, ``applied`` and ``balance``."""

    __slots__ = ()

    applied: Any = vars(Invoice)["applied"]
    balance: Any = vars(Invoice)["balance"]
