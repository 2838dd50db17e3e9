"""Credits (credit notes) and their applications to invoices: types, root fields."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from auth.policy import Permission
from models.credits import Credit as CreditRow
from models.credits import CreditApplication as CreditApplicationRow
from models.enums import CreditStatus, Module
from resolvers import credits as resolvers
from resolvers.clients import client_of
from resolvers.common import parse_optional_id
from resolvers.context import Info
from schema.clients import Client
from schema.fields import field, id_field, money
from schema.invoices import Invoice
from schema.pagination import Connection
from services.credits import CreditFilter

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

    @field(
        "The invoice it was applied to (null when the caller may not see it).",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    async def invoice(
        self, info: Info, root: strawberry.Parent[CreditApplicationRow]
    ) -> Invoice | None:
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
        "balance", "What is left to apply to invoices.", permission=_READ, module=_CREDITS
    )
    status: CreditStatus = field("OPEN while a balance remains, APPLIED when used up, or VOID.")
    reason: str | None = field("Why the credit was given, e.g. an overpayment or a refund.")
    created_at: datetime = field("When the credit was created.")
    updated_at: datetime = field("Last change.")

    @field("The client the credit belongs to.")
    async def client(self, info: Info, root: strawberry.Parent[CreditRow]) -> Client:
        return await client_of(info, root.client_id)  # type: ignore[return-value]

    @field("Where the credit was applied, oldest first.")
    async def applications(
        self, info: Info, root: strawberry.Parent[CreditRow]
    ) -> list[CreditApplication]:
        return await resolvers.credit_applications(info, root)  # type: ignore[return-value]


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
