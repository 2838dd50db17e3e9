"""Recurring invoices: types, root fields, and the client's auto-bill choice."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry

from auth.policy import Permission
from models.enums import AutoBill, Frequency, Module, RecurringStatus
from models.recurring import RecurringInvoice as RecurringInvoiceRow
from resolvers import recurring as resolvers
from resolvers.clients import client_of
from resolvers.common import parse_optional_id
from resolvers.context import Info
from resolvers.payment_methods import payment_method_of
from schema.clients import Client
from schema.fields import field, id_field, money, mutation
from schema.lines import LineItem
from schema.pagination import Connection
from schema.payment_methods import PaymentMethod
from services.recurring import RecurringInvoiceFilter, client_may_choose_auto_bill

strawberry.enum(Frequency, description="How often a recurring invoice issues an invoice.")
strawberry.enum(
    AutoBill,
    description=(
        "The business's policy for charging issued invoices automatically: never (OFF), "
        "always (ALWAYS), or the client's choice, off by default (OPT_IN) or on by "
        "default (OPT_OUT)."
    ),
)
strawberry.enum(RecurringStatus, description="Where a recurring invoice's schedule is.")

_RECURRING = Module.RECURRING_INVOICES
_READ = Permission.RECURRING_READ


@strawberry.type(description="A schedule that issues an invoice to a client every period.")
class RecurringInvoice:
    id: strawberry.ID = id_field()
    status: RecurringStatus = field("Where the schedule is: active, paused or completed.")
    frequency: Frequency = field("How often an invoice is issued.")
    currency: str = field("ISO 4217 currency of every amount.")
    start_date: date = field("Date of the first invoice.")
    next_send_date: date | None = field("Date the next invoice is issued (null: none).")
    remaining_cycles: int | None = field("Invoices still to issue (null: no end).")
    auto_bill: AutoBill = field("The business's policy for charging issued invoices.")
    auto_bill_enabled: bool = field(
        "The client's own choice to be charged automatically (counts under OPT_IN/OPT_OUT)."
    )
    due_days: int = field("Days from issue to the due date of each invoice.")
    po_number: str | None = field("The client's purchase order number.")
    public_notes: str | None = field("Notes shown to the client on each invoice.")
    private_notes: str | None = field(
        "Notes only staff can read.", permission=Permission.INTERNAL_READ, module=_RECURRING
    )
    terms: str | None = field("Payment terms shown on each invoice.")
    subtotal: Decimal = money(
        "subtotal", "Sum of line subtotals.", permission=_READ, module=_RECURRING
    )
    discount_total: Decimal = money(
        "discount_total", "Sum of line discounts.", permission=_READ, module=_RECURRING
    )
    tax_total: Decimal = money(
        "tax_total", "Sum of line taxes.", permission=_READ, module=_RECURRING
    )
    total: Decimal = money(
        "total", "What each issued invoice is for.", permission=_READ, module=_RECURRING
    )
    last_sent_at: datetime | None = field("When the last invoice was issued.")
    paused_at: datetime | None = field("When the schedule was paused.")
    created_at: datetime = field("When the schedule was created.")
    updated_at: datetime = field("Last change.")

    @field("Whether the client may switch automatic billing on or off.")
    def can_change_auto_bill(self, root: strawberry.Parent[RecurringInvoiceRow]) -> bool:
        return client_may_choose_auto_bill(root)

    @field("Whether each issued invoice will be charged automatically (derived).")
    def charges_automatically(self, root: strawberry.Parent[RecurringInvoiceRow]) -> bool:
        if root.auto_bill is AutoBill.ALWAYS:
            return True
        return root.auto_bill is not AutoBill.OFF and root.auto_bill_enabled

    @field("The client invoiced.")
    async def client(self, info: Info, root: strawberry.Parent[RecurringInvoiceRow]) -> Client:
        return await client_of(info, root.client_id)  # type: ignore[return-value]

    @field("The lines of each issued invoice, in order.")
    async def lines(
        self, info: Info, root: strawberry.Parent[RecurringInvoiceRow]
    ) -> list[LineItem]:
        return await resolvers.recurring_lines(info, root)  # type: ignore[return-value]

    @field(
        "The saved payment method charged automatically (null: the client's default).",
        permission=Permission.PAYMENT_METHODS_READ,
        module=Module.PAYMENT_METHODS,
    )
    async def payment_method(
        self, info: Info, root: strawberry.Parent[RecurringInvoiceRow]
    ) -> PaymentMethod | None:
        return await payment_method_of(info, root.payment_method_id)  # type: ignore[return-value]


@strawberry.type
class RecurringInvoiceQuery:
    @field("Recurring invoices, newest first.", permission=_READ, module=_RECURRING)
    async def recurring_invoices(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        client_id: strawberry.ID | None = None,
        status: list[RecurringStatus] | None = None,
    ) -> Connection[RecurringInvoice]:
        filters = RecurringInvoiceFilter(
            client_id=parse_optional_id(client_id, field="clientId"), statuses=status or []
        )
        return await resolvers.list_recurring_invoices(  # type: ignore[return-value]
            info, first=first, after=after, filters=filters
        )

    @field("One recurring invoice by id.", permission=_READ, module=_RECURRING)
    async def recurring_invoice(self, info: Info, id: strawberry.ID) -> RecurringInvoice:
        return await resolvers.recurring_invoice(info, id)  # type: ignore[return-value]


@strawberry.type
class RecurringInvoiceMutation:
    @mutation(
        "Switch automatic billing of a recurring invoice on or off, where the business "
        "leaves the choice to the client (OPT_IN or OPT_OUT).",
        permission=Permission.BILLING_ACT,
        module=_RECURRING,
    )
    async def set_recurring_invoice_auto_bill(
        self, info: Info, id: strawberry.ID, enabled: bool
    ) -> RecurringInvoice:
        return await resolvers.set_auto_bill(info, id, enabled)  # type: ignore[return-value]
