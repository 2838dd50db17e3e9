"""Recurring invoices: types, root fields, and the client's auto-bill choice."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import AutoBill, Module, RecurringStatus
from models.recurring import RecurringInvoice as RecurringInvoiceRow
from resolvers import recurring as resolvers
from resolvers.clients import client_of
from resolvers.common import parse_optional_id
from resolvers.context import Info
from resolvers.payment_methods import payment_method_of
from schema.enums import Frequency
from schema.fields import field, id_field, money, mutation
from schema.pagination import Connection
from services import recurring as recurring_service
from services.recurring import RecurringData, RecurringInvoiceFilter

if TYPE_CHECKING:
    from schema.clients import Client
    from schema.invoices import Invoice
    from schema.lines import LineInput, LineItem
    from schema.payment_methods import PaymentMethod

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
_MANAGE = Permission.BILLING_MANAGE


@strawberry.type(description="A schedule that issues an invoice to a client every period.")
class RecurringInvoice:
    id: strawberry.ID = id_field()
    status: RecurringStatus = field(
        "Where the schedule is: draft (staff only), active, paused or completed."
    )
    frequency: Frequency = field("How often an invoice is issued.")
    currency: str = field("ISO 4217 currency of every amount.")
    start_date: date = field("Date of the first invoice.")
    next_send_date: date | None = field(
        "Date the next invoice is issued (null: not started, paused or completed)."
    )
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
        return recurring_service.client_may_choose_auto_bill(root)

    @field("Whether each issued invoice will be charged automatically (derived).")
    def charges_automatically(self, root: strawberry.Parent[RecurringInvoiceRow]) -> bool:
        return recurring_service.charges_automatically(root)

    @field(
        "The next send dates while the schedule is active, soonest first: `count` of them "
        "at most, fewer when the remaining cycles end sooner, none when not active.",
        permission=_READ,
        module=_RECURRING,
    )
    def upcoming_dates(
        self, root: strawberry.Parent[RecurringInvoiceRow], count: int = 3
    ) -> list[date]:
        return recurring_service.upcoming_send_dates(root, count)

    @field(
        "The invoices issued by this schedule, newest first (contacts see no drafts or "
        "voided ones).",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    async def invoices(
        self,
        info: Info,
        root: strawberry.Parent[RecurringInvoiceRow],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[Invoice, strawberry.lazy("schema.invoices")]]:
        return await resolvers.issued_invoices(  # type: ignore[return-value]
            info, root.id, first=first, after=after
        )

    @field("The client invoiced.")
    def client(
        self, info: Info, root: strawberry.Parent[RecurringInvoiceRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return client_of(info, root.client_id)  # type: ignore[return-value]

    @field("The lines of each issued invoice, in order.")
    async def lines(
        self, info: Info, root: strawberry.Parent[RecurringInvoiceRow]
    ) -> list[Annotated[LineItem, strawberry.lazy("schema.lines")]]:
        return await resolvers.recurring_lines(info, root)  # type: ignore[return-value]

    @field(
        "The saved payment method charged automatically (null: the client's default).",
        permission=Permission.PAYMENT_METHODS_READ,
        module=Module.PAYMENT_METHODS,
    )
    async def payment_method(
        self, info: Info, root: strawberry.Parent[RecurringInvoiceRow]
    ) -> Annotated[PaymentMethod, strawberry.lazy("schema.payment_methods")] | None:
        return await payment_method_of(info, root.payment_method_id)  # type: ignore[return-value]


@strawberry.input(
    description=(
        "A recurring invoice's fields; in an update omitted fields stay as they are. "
        "Client, currency and start date can change only while the schedule is a draft."
    )
)
class RecurringInvoiceInput:
    client_id: strawberry.ID | None = strawberry.field(
        default=None, description="The client invoiced (required on create)."
    )
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code; the client's currency when omitted."
    )
    frequency: Frequency | None = strawberry.field(
        default=None, description="How often an invoice is issued (MONTHLY when omitted)."
    )
    start_date: date | None = strawberry.field(
        default=None,
        description="Date of the first invoice: today or later (today when omitted).",
    )
    remaining_cycles: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="How many invoices to issue; null (or omitted on create): no end.",
    )
    auto_bill: AutoBill | None = strawberry.field(
        default=None, description="Policy for charging issued invoices (OFF when omitted)."
    )
    due_days: int | None = strawberry.field(
        default=None, description="Days from issue to due date, 0-365 (30 when omitted)."
    )
    po_number: str | None = strawberry.field(default=None, description="Purchase order number.")
    public_notes: str | None = strawberry.field(default=None, description="Shown to the client.")
    private_notes: str | None = strawberry.field(default=None, description="Staff only.")
    terms: str | None = strawberry.field(default=None, description="Payment terms.")
    lines: list[Annotated[LineInput, strawberry.lazy("schema.lines")]] | None = strawberry.field(
        default=None, description="The lines; in an update they replace all lines."
    )

    def to_data(self) -> RecurringData:
        cycles: object = self.remaining_cycles
        given = cycles is not strawberry.UNSET
        return RecurringData(
            client_id=parse_optional_id(self.client_id, field="clientId"),
            currency=self.currency,
            frequency=self.frequency,
            start_date=self.start_date,
            remaining_cycles=self.remaining_cycles if given else None,
            remaining_cycles_given=given,
            auto_bill=self.auto_bill,
            due_days=self.due_days,
            po_number=self.po_number,
            public_notes=self.public_notes,
            private_notes=self.private_notes,
            terms=self.terms,
            lines=None if self.lines is None else [line.to_data() for line in self.lines],
        )


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
        "Create a draft recurring invoice (the client sees it once it is started).",
        permission=_MANAGE,
        module=_RECURRING,
    )
    async def create_recurring_invoice(
        self, info: Info, input: RecurringInvoiceInput
    ) -> RecurringInvoice:
        return await resolvers.create_recurring_invoice(info, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Change a recurring invoice that has not completed; changes apply to the invoices "
        "issued from now on.",
        permission=_MANAGE,
        module=_RECURRING,
    )
    async def update_recurring_invoice(
        self, info: Info, id: strawberry.ID, input: RecurringInvoiceInput
    ) -> RecurringInvoice:
        return await resolvers.update_recurring_invoice(info, id, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Start a draft recurring invoice: its first invoice is issued on the start date.",
        permission=_MANAGE,
        module=_RECURRING,
    )
    async def start_recurring_invoice(self, info: Info, id: strawberry.ID) -> RecurringInvoice:
        return await resolvers.start_recurring_invoice(info, id)  # type: ignore[return-value]

    @mutation(
        "Pause an active recurring invoice: nothing is issued until it is resumed.",
        permission=_MANAGE,
        module=_RECURRING,
    )
    async def pause_recurring_invoice(self, info: Info, id: strawberry.ID) -> RecurringInvoice:
        return await resolvers.pause_recurring_invoice(info, id)  # type: ignore[return-value]

    @mutation(
        "Resume a paused recurring invoice with its first period on or after today; "
        "periods that fell while it was paused are not issued.",
        permission=_MANAGE,
        module=_RECURRING,
    )
    async def resume_recurring_invoice(self, info: Info, id: strawberry.ID) -> RecurringInvoice:
        return await resolvers.resume_recurring_invoice(info, id)  # type: ignore[return-value]

    @mutation(
        "Delete a draft recurring invoice; answers its id.",
        permission=_MANAGE,
        module=_RECURRING,
    )
    async def delete_recurring_invoice(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(str(await resolvers.delete_recurring_invoice(info, id)))

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
