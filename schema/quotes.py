"""Quotes (estimates and proposals): types, inputs, root fields."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import Module, QuoteKind, QuoteStatus
from models.quotes import Quote as QuoteRow
from resolvers import activity as activity_resolvers
from resolvers import downloads as download_resolvers
from resolvers import quotes as resolvers
from resolvers.clients import client_of
from resolvers.common import parse_optional_id
from resolvers.context import Info
from schema.fields import field, id_field, money, mutation
from schema.pagination import Connection
from services.quotes import MAX_DECLINE_REASON, ApprovalData, QuoteData, QuoteFilter

if TYPE_CHECKING:
    from schema.activity import Activity
    from schema.clients import Client
    from schema.invoices import Invoice
    from schema.lines import LineInput, LineItem

strawberry.enum(
    QuoteStatus,
    description=(
        "Where a quote is in its life: DRAFT (staff only), SENT, VIEWED (a contact opened"
        " it), then the client's answer: APPROVED, DECLINED, or CONVERTED (approved and"
        " turned into an invoice, see `convertedInvoice`)."
    ),
)
strawberry.enum(QuoteKind, description="An estimate or a proposal.")

_QUOTES = Module.QUOTES


@strawberry.type(description="An estimate or proposal a client can approve or decline.")
class Quote:
    id: strawberry.ID = id_field()
    kind: QuoteKind = field("Estimate or proposal.")
    number: str | None = field("Number given when first sent.")
    status: QuoteStatus = field("Where the quote is in its life.")
    currency: str = field("ISO 4217 currency of every amount.")
    title: str | None = field("Short title.")
    issue_date: date | None = field("Date of issue.")
    valid_until: date | None = field(
        "Last day it can be approved, in the business's time zone (inclusive)."
    )
    po_number: str | None = field("Purchase order number given on approval.")
    public_notes: str | None = field("Notes shown to the client.")
    private_notes: str | None = field(
        "Notes only staff can read.", permission=Permission.INTERNAL_READ
    )
    terms: str | None = field("Terms the client accepts when approving.")
    subtotal: Decimal = money("subtotal", "Sum of line subtotals.")
    discount_total: Decimal = money("discount_total", "Sum of line discounts.")
    tax_total: Decimal = money("tax_total", "Sum of line taxes.")
    total: Decimal = money("total", "What the quote is for.")
    sent_at: datetime | None = field("When it was last sent.")
    viewed_at: datetime | None = field("When the client first opened it.")
    approved_at: datetime | None = field("When the client approved it.")
    declined_at: datetime | None = field("When the client declined it.")
    decline_reason: str | None = field("Why the client declined.")
    terms_accepted_at: datetime | None = field("When the client accepted the terms.")
    signature_name: str | None = field("The name the client typed to sign the approval.")
    signature_at: datetime | None = field("When the client signed.")
    signature_ip: str | None = field(
        "The network address the signature came from.", permission=Permission.INTERNAL_READ
    )
    created_at: datetime = field("When the quote was created.")

    @field("Past its valid-until date in the business's time zone: it can no longer be approved.")
    async def is_expired(self, info: Info, root: strawberry.Parent[QuoteRow]) -> bool:
        return await resolvers.quote_is_expired(info, root)

    @field(
        "The invoice the approved quote became (status CONVERTED); null otherwise.",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    async def converted_invoice(
        self, info: Info, root: strawberry.Parent[QuoteRow]
    ) -> Annotated[Invoice, strawberry.lazy("schema.invoices")] | None:
        return await resolvers.converted_invoice(info, root)  # type: ignore[return-value]

    @field("The client the quote is for.")
    def client(
        self, info: Info, root: strawberry.Parent[QuoteRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return client_of(info, root.client_id)  # type: ignore[return-value]

    @field("The quote's lines, in order.")
    async def lines(
        self, info: Info, root: strawberry.Parent[QuoteRow]
    ) -> list[Annotated[LineItem, strawberry.lazy("schema.lines")]]:
        return await resolvers.quote_lines(info, root)  # type: ignore[return-value]

    @field("A link to this quote as a PDF, valid for a few minutes.")
    def pdf_url(self, info: Info, root: strawberry.Parent[QuoteRow]) -> str:
        return download_resolvers.quote_pdf_url(info, root.id)

    @field(
        "What happened to this quote, oldest first, with who did it (contacts see the "
        "entries meant for them).",
        permission=Permission.ACTIVITY_READ,
    )
    async def activity(
        self, info: Info, root: strawberry.Parent[QuoteRow]
    ) -> list[Annotated[Activity, strawberry.lazy("schema.activity")]]:
        return await activity_resolvers.subject_activity(info, "quote", root.id)  # type: ignore[return-value]


@strawberry.input(description="A new quote.")
class QuoteInput:
    client_id: strawberry.ID = strawberry.field(description="The client the quote is for.")
    kind: QuoteKind = strawberry.field(default=QuoteKind.ESTIMATE, description="Kind.")
    currency: str | None = strawberry.field(default=None, description="ISO 4217 code.")
    title: str | None = strawberry.field(default=None, description="Short title.")
    issue_date: date | None = strawberry.field(default=None, description="Date of issue.")
    valid_until: date | None = strawberry.field(default=None, description="Last valid day.")
    public_notes: str | None = strawberry.field(default=None, description="Shown to the client.")
    private_notes: str | None = strawberry.field(default=None, description="Staff only.")
    terms: str | None = strawberry.field(default=None, description="Terms to accept.")
    lines: list[Annotated[LineInput, strawberry.lazy("schema.lines")]] = strawberry.field(
        default_factory=list, description="The lines."
    )

    def to_data(self) -> QuoteData:
        return QuoteData(
            client_id=parse_optional_id(self.client_id, field="clientId"),
            kind=self.kind,
            currency=self.currency,
            title=self.title,
            issue_date=self.issue_date,
            valid_until=self.valid_until,
            public_notes=self.public_notes,
            private_notes=self.private_notes,
            terms=self.terms,
            lines=[line.to_data() for line in self.lines],
        )


@strawberry.input(
    description="What the client gives when approving a quote; the account says which are required."
)
class QuoteApprovalInput:
    accept_terms: bool = strawberry.field(
        default=False, description="The client accepts the quote's terms."
    )
    po_number: str | None = strawberry.field(
        default=None, description="The client's purchase order number (at most 100 characters)."
    )
    signature_name: str | None = strawberry.field(
        default=None, description="The signer's full name, typed as a signature."
    )

    def to_data(self) -> ApprovalData:
        return ApprovalData(
            accept_terms=self.accept_terms,
            po_number=self.po_number,
            signature_name=self.signature_name,
        )


@strawberry.type(description="What approving a quote gave.")
class QuoteApproval:
    quote: Quote = field(
        "The approved quote: APPROVED, or CONVERTED into `invoice`.",
        permission=Permission.QUOTES_READ,
        module=_QUOTES,
    )
    invoice: Annotated[Invoice, strawberry.lazy("schema.invoices")] | None = field(
        "The sent invoice created from the quote, to pay next; null when the account does"
        " not turn approved quotes into invoices.",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )


@strawberry.type
class QuoteQuery:
    @field("Quotes, newest first.", permission=Permission.QUOTES_READ, module=_QUOTES)
    async def quotes(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        client_id: strawberry.ID | None = None,
        status: list[QuoteStatus] | None = None,
        kind: QuoteKind | None = None,
    ) -> Connection[Quote]:
        filters = QuoteFilter(
            client_id=parse_optional_id(client_id, field="clientId"),
            statuses=status or [],
            kind=kind,
        )
        return await resolvers.list_quotes(info, first=first, after=after, filters=filters)  # type: ignore[return-value]

    @field("One quote by id.", permission=Permission.QUOTES_READ, module=_QUOTES)
    async def quote(self, info: Info, id: strawberry.ID) -> Quote:
        return await resolvers.quote(info, id)  # type: ignore[return-value]


@strawberry.type
class QuoteMutation:
    @mutation("Create a draft quote.", permission=Permission.BILLING_MANAGE, module=_QUOTES)
    async def create_quote(self, info: Info, input: QuoteInput) -> Quote:
        return await resolvers.create_quote(info, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Send a quote to the client: numbers it on first send.",
        permission=Permission.BILLING_MANAGE,
        module=_QUOTES,
    )
    async def send_quote(self, info: Info, id: strawberry.ID) -> Quote:
        return await resolvers.send_quote(info, id)  # type: ignore[return-value]

    @mutation(
        "Approve a SENT or VIEWED quote that has not expired, with the terms acceptance,"
        " PO number and typed signature the account requires (a missing one is"
        " BAD_USER_INPUT naming its field). When the account converts approved quotes the"
        " quote becomes CONVERTED and a sent, numbered invoice is created from its lines;"
        " otherwise it becomes APPROVED. Approving again answers the same result and never"
        " creates a second invoice.",
        permission=Permission.BILLING_ACT,
        module=_QUOTES,
    )
    async def approve_quote(
        self, info: Info, id: strawberry.ID, input: QuoteApprovalInput | None = None
    ) -> QuoteApproval:
        data = input.to_data() if input is not None else ApprovalData()
        return await resolvers.approve_quote(info, id, data)  # type: ignore[return-value]

    @mutation(
        "Decline a SENT or VIEWED quote, optionally saying why"
        f" (at most {MAX_DECLINE_REASON} characters).",
        permission=Permission.BILLING_ACT,
        module=_QUOTES,
    )
    async def decline_quote(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> Quote:
        return await resolvers.decline_quote(info, id, reason)  # type: ignore[return-value]

    @mutation(
        "Record that the client opened a quote: SENT becomes VIEWED. Only a client's"
        " contact counts; for anyone else the quote is returned unchanged.",
        permission=Permission.QUOTES_READ,
        module=_QUOTES,
    )
    async def mark_quote_viewed(self, info: Info, id: strawberry.ID) -> Quote:
        return await resolvers.mark_quote_viewed(info, id)  # type: ignore[return-value]
