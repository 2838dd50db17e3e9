"""Small read-only views that give rows what their GraphQL type needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from resolvers.loaders import ClientView
from services.rows import RowView, shaped

__all__ = ["INVOICE_COLUMNS", "LINE_COLUMNS", "ClientView", "PricedLine"]


class PricedLine(RowView):
    """A line item with its document's currency (lines do not store one), so its amounts
    can be shown at the currency's precision: the line's columns, then ``currency``.

    Lines read as Core rows (the loaders' read-only rows) become a view; an ORM object
    (a credit's applications) is wrapped (:class:`_PricedObject`)."""

    __slots__ = ()

    def __new__(cls, line: Any, currency: str) -> Any:
        fields = getattr(line, "_fields", None)
        if fields is None:
            return _PricedObject(line, currency)
        return tuple.__new__(shaped(cls, (*fields, "currency")), (*line, currency))

    @classmethod
    def of_rows(cls, rows: Sequence[Any], currency: str) -> list[Any]:
        """``PricedLine(row, currency)`` for the rows of one result (or ORM objects): the
        shaped class looked up once (:func:`services.rows.views_of`)."""
        if not rows or getattr(rows[0], "_fields", None) is None:
            return [cls(line, currency) for line in rows]
        shape = shaped(cls, (*rows[0]._fields, "currency"))
        new = tuple.__new__
        return [new(shape, (*row, currency)) for row in rows]


@dataclass(frozen=True, slots=True)
class _PricedObject:
    """:class:`PricedLine` of an ORM object: other attributes come from the object."""

    line: Any
    currency: str

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # graphql-core asks every list item for ``__await__``
            raise AttributeError(name)
        return getattr(self.line, name)


LINE_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "position": ("position",),
    "description": ("description",),
    "quantity": ("quantity",),
    "unitPrice": ("unit_price",),
    "discountPercent": ("discount_percent",),
    "taxName": ("tax_name",),
    "taxRate": ("tax_rate",),
    "subtotal": ("line_subtotal",),
    "discount": ("line_discount",),
    "tax": ("line_tax",),
    "total": ("line_total",),
    "unitCost": ("unit_cost",),
}
"""The columns each field of ``LineItem`` reads (schema.lines; a test keeps them in
step), for loaders that read only what is selected (resolvers.selection)."""


_PAID = ("status", "total", "amount_paid", "credits_applied")
"""What ``balance`` and the paid state are computed from (models.invoices)."""
_OVERDUE = (*_PAID, "due_date", "deposit_amount", "deposit_due_date")

INVOICE_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "number": ("number",),
    "status": ("status",),
    "currency": ("currency",),
    "issueDate": ("issue_date",),
    "dueDate": ("due_date",),
    "depositAmount": ("deposit_amount",),
    "depositDueDate": ("deposit_due_date",),
    "poNumber": ("po_number",),
    "publicNotes": ("public_notes",),
    "privateNotes": ("private_notes",),
    "terms": ("terms",),
    "subtotal": ("subtotal",),
    "discountTotal": ("discount_total",),
    "taxTotal": ("tax_total",),
    "total": ("total",),
    "amountPaid": ("amount_paid",),
    "creditsApplied": ("credits_applied",),
    "balance": _PAID,
    "sentAt": ("sent_at",),
    "viewedAt": ("viewed_at",),
    "paidAt": ("paid_at",),
    "voidedAt": ("voided_at",),
    "createdAt": ("created_at",),
    "updatedAt": ("updated_at",),
    "paidState": _PAID,
    "isOverdue": _OVERDUE,
    "amountDue": _OVERDUE,
    "client": ("client_id",),
    "project": ("project_id",),
    "lines": ("id",),
    "pdfUrl": ("id",),
    "payments": ("id",),
    "autoBill": ("id",),
    "activity": ("id",),
}
"""The columns each field of ``Invoice`` reads (schema.invoices; a test keeps them in
step), for invoice lists that read only what their items select. Every invoice row also
has ``id``, ``created_at`` (its cursor) and ``currency`` (every amount's precision):
:data:`services.rows.INVOICE_ALWAYS`."""
