"""Credits (credit notes) and their applications to invoices: types, root fields."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.credits import Credit as CreditRow
from models.credits import CreditApplication as CreditApplicationRow
from models.enums import CreditStatus, Module
from resolvers import credits as resolvers
from resolvers.clients import client_of
from resolvers.common import parse_id, parse_optional_id
from resolvers.context import Info
from schema.fields import field, id_field, money, mutation
from schema.pagination import Connection
from services.credits import AvailableCredit as AvailableCreditRow
from services.credits import CreditData, CreditFilter
from services.money import round_money

if TYPE_CHECKING:
    from schema.clients import Client
    from schema.invoices import Invoice

strawberry.enum(CreditStatus, description="Where a credit is in its life.")

_CREDITS = Module.CREDITS
_READ = Permission.CREDITS_READ


@strawberry.type(description="The part of a credit applied to one invoice.")
class CreditApplication:
    id: strawberry.ID = id_field()
    amount: Decimal = money(
        "amount", "Amount applied, in the credit's currency.", permission=_READ, module=_CREDITS
    )
    created_at: datetime = field("When it was applied.")

    @field("Id of the invoice it was applied to (readable without reading the invoice).")
    def invoice_id(self, root: strawberry.Parent[CreditApplicationRow]) -> strawberry.ID:
        return strawberry.ID(str(root.invoice_id))

    @field(
        "The invoice it was applied to (null when the caller may not see it).",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    async def invoice(
        self, info: Info, root: strawberry.Parent[CreditApplicationRow]
    ) -> Annotated[Invoice, strawberry.lazy("schema.invoices")] | None:
        return await resolvers.application_invoice(info, root)  # type: ignore[return-value]


@strawberry.type(description="An amount the business owes a client, applied to invoices.")
class Credit:
    id: strawberry.ID = id_field()
    number: str | None = field("Credit note number (unique in the account).")
    currency: str = field("ISO 4217 currency of every amount.")
    amount: Decimal = money(
        "amount", "The credit's full amount.", permission=_READ, module=_CREDITS
    )
    balance: Decimal = money(
        "balance",
        "The remaining balance: what is left to apply to invoices.",
        permission=_READ,
        module=_CREDITS,
    )
    status: CreditStatus = field("OPEN while a balance remains, APPLIED when used up, or VOID.")
    reason: str | None = field("Why the credit was given, e.g. an overpayment or a refund.")
    created_at: datetime = field("When the credit was created.")
    updated_at: datetime = field("Last change.")

    @field("The client the credit belongs to.")
    def client(
        self, info: Info, root: strawberry.Parent[CreditRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return client_of(info, root.client_id)  # type: ignore[return-value]

    @field("Where the credit was applied, oldest first.", permission=_READ, module=_CREDITS)
    async def applications(
        self, info: Info, root: strawberry.Parent[CreditRow]
    ) -> list[CreditApplication]:
        return await resolvers.credit_applications(info, root)  # type: ignore[return-value]


@strawberry.type(description="What a client may still spend in one currency.")
class AvailableCredit:
    currency: str = field("ISO 4217 currency of every amount.")

    @field("Remaining balances of the client's open credit notes.")
    def credit_notes(self, root: strawberry.Parent[AvailableCreditRow]) -> Decimal:
        return round_money(root.credit_notes, root.currency)

    @field("Parts of the client's payments neither applied to invoices nor refunded.")
    def unapplied_payments(self, root: strawberry.Parent[AvailableCreditRow]) -> Decimal:
        return round_money(root.unapplied_payments, root.currency)

    @field("Credit notes and unapplied payments together.")
    def total(self, root: strawberry.Parent[AvailableCreditRow]) -> Decimal:
        return round_money(root.total, root.currency)


@strawberry.input(description="A credit note to issue to a client.")
class CreditInput:
    client_id: strawberry.ID = strawberry.field(description="The client credited.")
    amount: Decimal = strawberry.field(description="Amount credited, above zero.")
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 code; the client's currency when omitted."
    )
    reason: str | None = strawberry.field(
        default=None, description="Why the credit is given (shown to the client)."
    )

    def to_data(self) -> CreditData:
        return CreditData(
            client_id=parse_id(self.client_id, field="clientId"),
            amount=self.amount,
            currency=self.currency,
            reason=self.reason,
        )


@strawberry.type
class CreditQuery:
    @field("Credits, newest first.", permission=_READ, module=_CREDITS)
    async def credits(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        client_id: strawberry.ID | None = None,
        status: list[CreditStatus] | None = None,
        with_balance: bool | None = None,
    ) -> Connection[Credit]:
        filters = CreditFilter(
            client_id=parse_optional_id(client_id, field="clientId"),
            statuses=status or [],
            with_balance=with_balance,
        )
        return await resolvers.list_credits(  # type: ignore[return-value]
            info, first=first, after=after, filters=filters
        )

    @field("One credit by id.", permission=_READ, module=_CREDITS)
    async def credit(self, info: Info, id: strawberry.ID) -> Credit:
        return await resolvers.credit(info, id)  # type: ignore[return-value]

    @field(
        "A client's available credit per currency: open credit notes and unapplied "
        "payments. Contacts get their own client's; staff name the client.",
        permission=_READ,
        module=_CREDITS,
    )
    async def available_credit(
        self, info: Info, client_id: strawberry.ID | None = None
    ) -> list[AvailableCredit]:
        return await resolvers.available_credit(info, client_id)  # type: ignore[return-value]


@strawberry.type
class CreditMutation:
    @mutation(
        "Issue a credit note to a client, numbered from the account's credit sequence.",
        permission=Permission.BILLING_MANAGE,
        module=_CREDITS,
    )
    async def create_credit(self, info: Info, input: CreditInput) -> Credit:
        return await resolvers.create_credit(info, input.to_data())  # type: ignore[return-value]

    @mutation(
        "Apply part of a credit to an open invoice of the same client and currency; "
        "without an amount, as much as both balances allow. Never more than the credit's "
        "remaining balance or the invoice's balance.",
        permission=Permission.BILLING_MANAGE,
        module=_CREDITS,
    )
    async def apply_credit(
        self,
        info: Info,
        credit_id: strawberry.ID,
        invoice_id: strawberry.ID,
        amount: Decimal | None = None,
    ) -> Credit:
        return await resolvers.apply_credit(info, credit_id, invoice_id, amount)  # type: ignore[return-value]
