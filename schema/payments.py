"""Payments and their allocations to invoices: types, inputs, root fields."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import Module, PaymentMethodKind, PaymentStatus
from models.payments import Payment as PaymentRow
from models.payments import PaymentAllocation as AllocationRow
from resolvers import payments as resolvers
from resolvers.clients import client_of
from resolvers.common import parse_id
from resolvers.context import Info
from schema.fields import field, id_field, money, mutation
from schema.pagination import Connection
from services.money import round_money
from services.payments import AllocationData, PaymentData, PaymentFilter
from services.payments import portal as portal_payments
from services.stripe_gateway.card_payments import CardPayment

if TYPE_CHECKING:
    from schema.clients import Client
    from schema.invoices import Invoice
    from schema.payment_refunds import PaymentDispute, PaymentRefund

strawberry.enum(PaymentMethodKind, description="How a payment arrived.")
strawberry.enum(PaymentStatus, description="Where a payment is in its life.")

_PAYMENTS = Module.PAYMENTS


@strawberry.type(description="Money received from a client.")
class Payment:
    id: strawberry.ID = id_field()
    number: str | None = field("Reference number.")
    amount: Decimal = money("amount", "Amount received.")
    currency: str = field("ISO 4217 currency.")
    method: PaymentMethodKind = field("How it arrived.")
    status: PaymentStatus = field("Where the payment is in its life.")
    reference: str | None = field("Bank or check reference.")
    received_on: date = field("Date the money arrived.")
    refunded_amount: Decimal = money("refunded_amount", "Amount refunded so far.")
    notes: str | None = field("Notes shown to the client.")
    private_notes: str | None = field(
        "Notes only staff can read.", permission=Permission.INTERNAL_READ
    )
    provider: str | None = field(
        "Payment provider that took it.", permission=Permission.PROVIDER_IDS_READ
    )
    provider_payment_id: str | None = field(
        "The provider's id for it.", permission=Permission.PROVIDER_IDS_READ
    )
    created_at: datetime = field("When it was recorded.")

    @field("The client who paid.")
    def client(
        self, info: Info, root: strawberry.Parent[PaymentRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return client_of(info, root.client_id)  # type: ignore[return-value]

    @field(
        "How the payment is split across invoices.",
        permission=Permission.PAYMENTS_READ,
        module=_PAYMENTS,
    )
    async def allocations(
        self, info: Info, root: strawberry.Parent[PaymentRow]
    ) -> list[PaymentAllocation]:
        return await resolvers.payment_allocations(info, root.id)  # type: ignore[return-value]

    @field(
        "The refunds asked of Stripe for this card payment, oldest first: PENDING until "
        "Stripe confirms one (only then does `refundedAmount` grow), FAILED when it could "
        "not. A manual payment's refunds are recorded at once and are not listed here.",
        permission=Permission.PAYMENTS_READ,
        module=_PAYMENTS,
    )
    async def refunds(
        self, info: Info, root: strawberry.Parent[PaymentRow]
    ) -> list[Annotated[PaymentRefund, strawberry.lazy("schema.payment_refunds")]]:
        return await resolvers.payment_refunds(info, root.id)  # type: ignore[return-value]

    @field(
        "The card payment's dispute (chargeback), if the card holder opened one.",
        permission=Permission.INTERNAL_READ,
        module=_PAYMENTS,
    )
    async def dispute(
        self, info: Info, root: strawberry.Parent[PaymentRow]
    ) -> Annotated[PaymentDispute, strawberry.lazy("schema.payment_refunds")] | None:
        return await resolvers.payment_dispute(info, root.id)  # type: ignore[return-value]

    @field(
        "What is neither allocated nor refunded: the client's credit, which applyPayment "
        "applies to invoices later. Zero while a payment is pending or when it failed."
    )
    async def unapplied_amount(self, info: Info, root: strawberry.Parent[PaymentRow]) -> Decimal:
        return round_money(await resolvers.payment_unapplied(info, root), root.currency)


@strawberry.type(description="The part of a payment applied to one invoice.")
class PaymentAllocation:
    id: strawberry.ID = id_field()
    created_at: datetime = field("When it was applied.")

    @field("Amount applied (for a pending payment: the amount it will apply once confirmed).")
    async def amount(self, info: Info, root: strawberry.Parent[AllocationRow]) -> Decimal:
        payment = await resolvers.allocation_payment(info, root.payment_id)
        return round_money(root.amount, payment.currency)

    @field("Part of the amount refunded since: the invoice owes it again.")
    async def refunded_amount(self, info: Info, root: strawberry.Parent[AllocationRow]) -> Decimal:
        payment = await resolvers.allocation_payment(info, root.payment_id)
        return round_money(root.refunded_amount, payment.currency)

    @field("Id of the invoice paid (readable without reading the invoice).")
    def invoice_id(self, root: strawberry.Parent[AllocationRow]) -> strawberry.ID:
        return strawberry.ID(str(root.invoice_id))

    @field(
        "The invoice paid (null when the caller may not see it).",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    async def invoice(
        self, info: Info, root: strawberry.Parent[AllocationRow]
    ) -> Annotated[Invoice, strawberry.lazy("schema.invoices")] | None:
        return await resolvers.allocation_invoice(info, root.invoice_id)  # type: ignore[return-value]

    @field("The payment.", permission=Permission.PAYMENTS_READ, module=_PAYMENTS)
    async def payment(self, info: Info, root: strawberry.Parent[AllocationRow]) -> Payment:
        return await resolvers.allocation_payment(info, root.payment_id)  # type: ignore[return-value]


@strawberry.input(description="Part of a payment to apply to one invoice.")
class AllocationInput:
    invoice_id: strawberry.ID = strawberry.field(description="An open invoice of the client.")
    amount: Decimal = strawberry.field(
        description="At most the invoice's balance (in a refund: at most what the payment "
        "holds on the invoice)."
    )


@strawberry.input(description="Money received outside Portico.")
class RecordPaymentInput:
    client_id: strawberry.ID = strawberry.field(description="Who paid.")
    amount: Decimal = strawberry.field(description="Amount received, above zero.")
    method: PaymentMethodKind = strawberry.field(description="CASH, BANK_TRANSFER, CHECK or OTHER.")
    received_on: date | None = strawberry.field(default=None, description="Today when omitted.")
    currency: str | None = strawberry.field(default=None, description="The client's by default.")
    reference: str | None = strawberry.field(default=None, description="Bank or check reference.")
    notes: str | None = strawberry.field(default=None, description="Shown to the client.")
    private_notes: str | None = strawberry.field(default=None, description="Staff only.")
    allocations: list[AllocationInput] = strawberry.field(
        default_factory=list,
        description="Invoices to apply it to; the rest stays as the client's credit.",
    )

    def to_data(self) -> PaymentData:
        return PaymentData(
            client_id=parse_id(self.client_id, field="clientId"),
            amount=self.amount,
            method=self.method,
            received_on=self.received_on,
            currency=self.currency,
            reference=self.reference,
            notes=self.notes,
            private_notes=self.private_notes,
            allocations=allocation_data(self.allocations),
        )


def allocation_data(allocations: list[AllocationInput]) -> list[AllocationData]:
    return [
        AllocationData(
            invoice_id=parse_id(a.invoice_id, field=f"allocations.{i}.invoiceId"),
            amount=a.amount,
        )
        for i, a in enumerate(allocations)
    ]


@strawberry.type(description="One invoice of a portal payment.")
class InvoicePaymentShare:
    @field("The invoice.", permission=Permission.INVOICES_READ, module=Module.INVOICES)
    def invoice(
        self, root: strawberry.Parent[portal_payments.PlannedShare]
    ) -> Annotated[Invoice, strawberry.lazy("schema.invoices")]:
        return root.invoice  # type: ignore[return-value]

    @field("What was due on it: its unpaid deposit while one is set, else its balance.")
    def amount_due(self, root: strawberry.Parent[portal_payments.PlannedShare]) -> Decimal:
        return round_money(root.amount_due, root.invoice.currency)

    @field("What this payment puts on it (0 when a partial payment does not reach it).")
    def amount(self, root: strawberry.Parent[portal_payments.PlannedShare]) -> Decimal:
        return round_money(root.amount, root.invoice.currency)


@strawberry.type(
    description="A card payment that was started, for Stripe.js to finish: PENDING until "
    "Stripe confirms the charge (then COMPLETED and applied to the invoices), with how it "
    "splits across invoices."
)
class PayInvoicesPayload:
    @field("The payment.", permission=Permission.PAYMENTS_READ, module=_PAYMENTS)
    def payment(self, root: strawberry.Parent[CardPayment]) -> Payment:
        return root.payment  # type: ignore[return-value]

    @field(
        "For Stripe.js `confirmCardPayment` while the payer still has to act (enter a card, "
        "pass 3-D Secure); null once Stripe needs nothing more from the browser."
    )
    def client_secret(self, root: strawberry.Parent[CardPayment]) -> str | None:
        return root.client_secret

    @field("The account's Stripe publishable key, to load Stripe.js with.")
    def publishable_key(self, root: strawberry.Parent[CardPayment]) -> str:
        return root.publishable_key

    @field(
        "Where Stripe's PaymentIntent is: requires_payment_method, requires_action, "
        "processing, succeeded…"
    )
    def intent_status(self, root: strawberry.Parent[CardPayment]) -> str:
        return root.intent_status

    @field("Amount to charge.")
    def amount(self, root: strawberry.Parent[CardPayment]) -> Decimal:
        return round_money(root.plan.amount, root.plan.currency)

    @field("ISO 4217 currency of every amount.")
    def currency(self, root: strawberry.Parent[CardPayment]) -> str:
        return root.plan.currency

    @field("What was due on the chosen invoices.")
    def total_due(self, root: strawberry.Parent[CardPayment]) -> Decimal:
        return round_money(root.plan.total_due, root.plan.currency)

    @field("What an overpayment leaves as the client's credit.")
    def unapplied_amount(self, root: strawberry.Parent[CardPayment]) -> Decimal:
        return round_money(root.plan.unapplied, root.plan.currency)

    @field("The split per invoice, oldest due date first.")
    def split(self, root: strawberry.Parent[CardPayment]) -> list[InvoicePaymentShare]:
        return root.plan.shares  # type: ignore[return-value]


@strawberry.type
class PaymentQuery:
    @field("Payments, newest first.", permission=Permission.PAYMENTS_READ, module=_PAYMENTS)
    async def payments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        client_id: strawberry.ID | None = None,
        invoice_id: strawberry.ID | None = None,
    ) -> Connection[Payment]:
        filters = PaymentFilter(
            client_id=parse_id(client_id, field="clientId") if client_id else None,
            invoice_id=parse_id(invoice_id, field="invoiceId") if invoice_id else None,
        )
        return await resolvers.list_payments(info, first=first, after=after, filters=filters)  # type: ignore[return-value]

    @field("One payment by id.", permission=Permission.PAYMENTS_READ, module=_PAYMENTS)
    async def payment(self, info: Info, id: strawberry.ID) -> Payment:
        return await resolvers.payment(info, id)  # type: ignore[return-value]


@strawberry.type
class PaymentMutation:
    @mutation(
        "Record a payment received outside Portico and apply it to invoices.",
        permission=Permission.BILLING_MANAGE,
        module=_PAYMENTS,
    )
    async def record_payment(self, info: Info, input: RecordPaymentInput) -> Payment:
        return await resolvers.record_payment(info, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Apply a payment's unapplied remainder (the client's credit) to open invoices of "
        "the same client and currency.",
        permission=Permission.BILLING_MANAGE,
        module=_PAYMENTS,
    )
    async def apply_payment(
        self,
        info: Info,
        payment_id: strawberry.ID,
        allocations: list[AllocationInput],
    ) -> Payment:
        return await resolvers.apply_payment(  # type: ignore[return-value]
            info, payment_id, allocation_data(allocations)
        )

    @mutation(
        "Refund all or part of a payment. A manual payment's refund is recorded at once "
        "(the money went back outside Portico); a card payment is refunded through Stripe "
        "and its balances follow when Stripe confirms the refund (at once for most cards, "
        "else when Stripe's event arrives). With allocations, each named invoice gives "
        "back its share and the rest comes from the unapplied remainder; without, the "
        "unapplied remainder goes first, then the payment's allocations, the most recent "
        "first. Money taken back from an invoice is owed again: its balance grows and a "
        "paid invoice returns to partial or unpaid. More than remains (less refunds still "
        "pending at Stripe): BAD_USER_INPUT; a disputed payment: CONFLICT; Stripe refusing: "
        "PAYMENT_PROVIDER_ERROR.",
        permission=Permission.BILLING_MANAGE,
        module=_PAYMENTS,
    )
    async def refund_payment(
        self,
        info: Info,
        id: strawberry.ID,
        amount: Decimal,
        allocations: list[AllocationInput] | None = None,
    ) -> Payment:
        return await resolvers.refund_payment(  # type: ignore[return-value]
            info, id, amount, None if allocations is None else allocation_data(allocations)
        )

    @mutation(
        "Pay one or several open invoices of your client by card. Each invoice's amount "
        "due is its unpaid deposit while one is set, else its balance; without an amount "
        "the total due is paid. Less needs the account to accept partial payments (and at "
        "least its minimum), more needs it to accept overpayments; the amount goes to the "
        "oldest due date first. Or, with `amounts` instead of `amount`, say what goes on "
        "each invoice (the others pay their amount due): each at most the invoice's "
        "balance; less than its amount due needs partial payments (and the payment at "
        "least the minimum). This starts a PENDING payment and a Stripe PaymentIntent "
        "(finish it with Stripe.js and `clientSecret`, or pass a saved `paymentMethodId` to "
        "charge it at once); the invoices are paid when Stripe confirms the charge. A "
        "pending payment on the same invoices is replaced, never charged twice; while one "
        "is still on its way to Stripe (up to 10 minutes), another attempt of the client "
        "is refused with CONFLICT. Without Stripe connected: PAYMENTS_NOT_CONFIGURED.",
        permission=Permission.BILLING_ACT,
        module=_PAYMENTS,
    )
    async def pay_invoices(
        self,
        info: Info,
        invoice_ids: list[strawberry.ID],
        amount: Decimal | None = None,
        payment_method_id: strawberry.ID | None = None,
        save_payment_method: bool = False,
        amounts: list[AllocationInput] | None = None,
    ) -> PayInvoicesPayload:
        chosen = None
        if amounts is not None:
            chosen = [
                AllocationData(
                    invoice_id=parse_id(a.invoice_id, field=f"amounts.{i}.invoiceId"),
                    amount=a.amount,
                )
                for i, a in enumerate(amounts)
            ]
        return await resolvers.pay_invoices(  # type: ignore[return-value]
            info, invoice_ids, amount, payment_method_id, save_payment_method, chosen
        )
