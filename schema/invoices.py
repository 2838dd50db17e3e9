"""Invoices: types, inputs, root fields."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import AutoBillStatus, InvoiceStatus, Module, PaidState
from models.invoices import Invoice as InvoiceRow
from resolvers import activity as activity_resolvers
from resolvers import downloads as download_resolvers
from resolvers import invoices as resolvers
from resolvers.clients import client_of, clients_of
from resolvers.common import parse_optional_id
from resolvers.context import Info
from resolvers.projects import optional_project
from schema.direct_resolvers import batched
from schema.fields import field, id_field, money, mutation
from schema.pagination import Connection
from services import invoices as invoice_service
from services.invoices import InvoiceData, InvoiceFilter
from services.money import round_money

if TYPE_CHECKING:
    from schema.activity import Activity
    from schema.clients import Client
    from schema.lines import LineInput, LineItem
    from schema.payments import PaymentAllocation
    from schema.projects import Project

strawberry.enum(InvoiceStatus, description="Where an invoice is in its life.")
strawberry.enum(
    PaidState,
    description="How much of an invoice is paid (derived); VOID: voided, nothing is owed.",
)

_INVOICES = Module.INVOICES


strawberry.enum(AutoBillStatus, description="Where the automatic charge of an invoice is.")


@strawberry.type(
    description="The automatic charge of an invoice issued by an auto-billed schedule: "
    "charged off-session to the client's saved card once, retried 1, 3 and 5 days after "
    "a failure; the billing contacts are mailed each failure."
)
class InvoiceAutoBill:
    status: AutoBillStatus = field(
        "SCHEDULED (waiting for the next attempt), CHARGING, SUCCEEDED, FAILED (every "
        "attempt failed), ACTION_REQUIRED (the bank asks the client to confirm: only the "
        "client can pay it, in the portal) or CANCELED (paid otherwise, voided, or "
        "automatic billing switched off)."
    )
    attempts: int = field("Charges tried so far.")
    next_attempt_at: datetime | None = field(
        "When the next attempt is made (null: none is planned)."
    )
    last_attempt_at: datetime | None = field("When the latest attempt was made.")
    last_error: str | None = field("Why the latest attempt failed, in words a client can read.")


@strawberry.type(description="A bill sent to a client.")
class Invoice:
    id: strawberry.ID = id_field()
    number: str | None = field("Number given when first sent (unique in the account).")
    status: InvoiceStatus = field("Where the invoice is in its life.")
    currency: str = field("ISO 4217 currency of every amount.")
    issue_date: date | None = field("Date of issue.")
    due_date: date | None = field("Date payment is due.")
    deposit_amount: Decimal | None = money(
        "deposit_amount", "Deposit asked for first, if any (at most the total).", optional=True
    )
    deposit_due_date: date | None = field(
        "Date the deposit is due (between the issue date and the due date)."
    )
    po_number: str | None = field("The client's purchase order number.")
    public_notes: str | None = field("Notes shown to the client.")
    private_notes: str | None = field(
        "Notes only staff can read.", permission=Permission.INTERNAL_READ
    )
    terms: str | None = field("Payment terms shown on the invoice.")
    subtotal: Decimal = money("subtotal", "Sum of line subtotals.")
    discount_total: Decimal = money("discount_total", "Sum of line discounts.")
    tax_total: Decimal = money("tax_total", "Sum of line taxes.")
    total: Decimal = money("total", "What the invoice is for.")
    amount_paid: Decimal = money("amount_paid", "Payments applied to this invoice.")
    credits_applied: Decimal = money("credits_applied", "Credits applied to this invoice.")
    balance: Decimal = money(
        "balance", "What is still owed: total - paid - credits (0 when voided)."
    )
    sent_at: datetime | None = field("When it was last sent.")
    viewed_at: datetime | None = field("When the client first opened it.")
    paid_at: datetime | None = field("When it was paid in full.")
    voided_at: datetime | None = field("When it was voided.")
    created_at: datetime = field("When the invoice was created.")
    updated_at: datetime = field("Last change.")

    @field(
        "UNPAID, PARTIAL or PAID, from the amounts applied; VOID for a voided invoice (not stored)."
    )
    def paid_state(self, root: strawberry.Parent[InvoiceRow]) -> PaidState:
        return invoice_service.paid_state(root)

    @field(
        "Open, with a balance, and late: past its due date, or past its deposit due date "
        "while the deposit is unpaid (derived)."
    )
    def is_overdue(self, root: strawberry.Parent[InvoiceRow]) -> bool:
        return invoice_service.is_overdue(root)

    @field("What to pay now: the deposit while it is unpaid, else the balance.")
    def amount_due(self, root: strawberry.Parent[InvoiceRow]) -> Decimal:
        return round_money(invoice_service.amount_due(root), root.currency)

    @field("The client billed.")
    @batched(clients_of)
    def client(
        self, info: Info, root: strawberry.Parent[InvoiceRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return client_of(info, root.client_id)  # type: ignore[return-value]

    @field(
        "The project the invoice bills, if any.",
        permission=Permission.PROJECTS_READ,
        module=Module.PROJECTS,
    )
    async def project(
        self, info: Info, root: strawberry.Parent[InvoiceRow]
    ) -> Annotated[Project, strawberry.lazy("schema.projects")] | None:
        return await optional_project(info, root.project_id)  # type: ignore[return-value]

    @field("The invoice's lines, in order.")
    @batched(resolvers.invoices_lines)
    def lines(
        self, info: Info, root: strawberry.Parent[InvoiceRow]
    ) -> list[Annotated[LineItem, strawberry.lazy("schema.lines")]]:
        return resolvers.invoice_lines(info, root)  # type: ignore[return-value]

    @field("A link to this invoice as a PDF, valid for a few minutes.")
    def pdf_url(self, info: Info, root: strawberry.Parent[InvoiceRow]) -> str:
        return download_resolvers.invoice_pdf_url(info, root.id)

    @field(
        "Payments applied to this invoice.",
        permission=Permission.PAYMENTS_READ,
        module=Module.PAYMENTS,
    )
    async def payments(
        self, info: Info, root: strawberry.Parent[InvoiceRow]
    ) -> list[Annotated[PaymentAllocation, strawberry.lazy("schema.payments")]]:
        return await resolvers.invoice_allocations(info, root.id)  # type: ignore[return-value]

    @field(
        "Its automatic charge, when its recurring schedule bills it automatically (null "
        "otherwise).",
        permission=Permission.INVOICES_READ,
        module=_INVOICES,
    )
    async def auto_bill(
        self, info: Info, root: strawberry.Parent[InvoiceRow]
    ) -> InvoiceAutoBill | None:
        return await resolvers.invoice_auto_bill(info, root.id)  # type: ignore[return-value]

    @field(
        "What happened to this invoice, oldest first, with who did it (contacts see the "
        "entries meant for them).",
        permission=Permission.ACTIVITY_READ,
    )
    async def activity(
        self, info: Info, root: strawberry.Parent[InvoiceRow]
    ) -> list[Annotated[Activity, strawberry.lazy("schema.activity")]]:
        return await activity_resolvers.subject_activity(info, "invoice", root.id)  # type: ignore[return-value]


@strawberry.input(description="An invoice's fields; in an update omitted fields stay as they are.")
class InvoiceInput:
    client_id: strawberry.ID | None = strawberry.field(
        default=None, description="The client billed (required on create)."
    )
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code; the client's currency when omitted."
    )
    issue_date: date | None = strawberry.field(default=None, description="Date of issue.")
    due_date: date | None = strawberry.field(default=None, description="Due date.")
    deposit_amount: Decimal | None = strawberry.field(
        default=None, description="Deposit asked for first (0 removes it)."
    )
    deposit_due_date: date | None = strawberry.field(default=None, description="Deposit due.")
    po_number: str | None = strawberry.field(default=None, description="Purchase order number.")
    public_notes: str | None = strawberry.field(default=None, description="Shown to the client.")
    private_notes: str | None = strawberry.field(default=None, description="Staff only.")
    terms: str | None = strawberry.field(default=None, description="Payment terms.")
    project_id: strawberry.ID | None = strawberry.field(
        default=None, description="The project billed: one of the invoice's client."
    )
    lines: list[Annotated[LineInput, strawberry.lazy("schema.lines")]] | None = strawberry.field(
        default=None, description="The lines; in an update they replace all lines."
    )

    def to_data(self) -> InvoiceData:
        return InvoiceData(
            client_id=parse_optional_id(self.client_id, field="clientId"),
            project_id=parse_optional_id(self.project_id, field="projectId"),
            currency=self.currency,
            issue_date=self.issue_date,
            due_date=self.due_date,
            deposit_amount=self.deposit_amount,
            deposit_due_date=self.deposit_due_date,
            po_number=self.po_number,
            public_notes=self.public_notes,
            private_notes=self.private_notes,
            terms=self.terms,
            lines=None if self.lines is None else [line.to_data() for line in self.lines],
        )


@strawberry.type
class InvoiceQuery:
    @field("Invoices, newest first.", permission=Permission.INVOICES_READ, module=_INVOICES)
    async def invoices(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        client_id: strawberry.ID | None = None,
        status: list[InvoiceStatus] | None = None,
        overdue: bool | None = None,
    ) -> Connection[Invoice]:
        filters = InvoiceFilter(
            client_id=parse_optional_id(client_id, field="clientId"),
            statuses=status or [],
            overdue=overdue,
        )
        return await resolvers.list_invoices(info, first=first, after=after, filters=filters)  # type: ignore[return-value]

    @field("One invoice by id.", permission=Permission.INVOICES_READ, module=_INVOICES)
    async def invoice(self, info: Info, id: strawberry.ID) -> Invoice:
        return await resolvers.invoice(info, id)  # type: ignore[return-value]


@strawberry.type
class InvoiceMutation:
    @mutation("Create a draft invoice.", permission=Permission.BILLING_MANAGE, module=_INVOICES)
    async def create_invoice(self, info: Info, input: InvoiceInput) -> Invoice:
        return await resolvers.create_invoice(info, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Change an invoice (drafts, or sent ones when the account allows it).",
        permission=Permission.BILLING_MANAGE,
        module=_INVOICES,
    )
    async def update_invoice(self, info: Info, id: strawberry.ID, input: InvoiceInput) -> Invoice:
        return await resolvers.update_invoice(info, id, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Send an invoice: numbers it on first send and shows it to the client; an open "
        "invoice may be sent again as a reminder.",
        permission=Permission.BILLING_MANAGE,
        module=_INVOICES,
    )
    async def send_invoice(self, info: Info, id: strawberry.ID) -> Invoice:
        return await resolvers.send_invoice(info, id)  # type: ignore[return-value]

    @mutation(
        "Mark a draft sent without sending anything (delivered outside Portico): numbers "
        "it and shows it to the client.",
        permission=Permission.BILLING_MANAGE,
        module=_INVOICES,
    )
    async def mark_invoice_sent(self, info: Info, id: strawberry.ID) -> Invoice:
        return await resolvers.mark_invoice_sent(info, id)  # type: ignore[return-value]

    @mutation(
        "Record that the client opened the invoice: the first time a contact does, a SENT "
        "invoice becomes VIEWED. Staff and API callers change nothing.",
        permission=Permission.INVOICES_READ,
        module=_INVOICES,
    )
    async def mark_invoice_viewed(self, info: Info, id: strawberry.ID) -> Invoice:
        return await resolvers.mark_invoice_viewed(info, id)  # type: ignore[return-value]

    @mutation(
        "Void an invoice that has no payments or credits applied (refund them first); "
        "it keeps its number.",
        permission=Permission.BILLING_MANAGE,
        module=_INVOICES,
    )
    async def void_invoice(self, info: Info, id: strawberry.ID) -> Invoice:
        return await resolvers.void_invoice(info, id)  # type: ignore[return-value]
