"""Statements: a client's account over a period, with aging; downloadable as a PDF."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import Module
from resolvers import statements as resolvers
from resolvers.context import Info
from schema.fields import field, money
from services.statements import EntryKind, StatementStatus
from services.statements import Statement as StatementRow
from services.statements import StatementEntry as StatementEntryRow

if TYPE_CHECKING:
    from schema.clients import Client

strawberry.enum(
    StatementStatus,
    description=(
        "Which invoices a statement lists: ALL issued in the period, PAID those fully paid"
        " by its end, UNPAID those with something owed at its end. Payments, credits,"
        " balances and aging are never filtered."
    ),
)
strawberry.enum(
    EntryKind,
    name="StatementEntryKind",
    description="What a statement row records.",
)


_READ = Permission.STATEMENTS_READ
_STATEMENTS = Module.STATEMENTS


@strawberry.type(description="One row of a statement.")
class StatementEntry:
    kind: EntryKind = field(
        "INVOICE issued (+), PAYMENT received and applied (-), CREDIT applied (-), REFUND (+)."
    )
    number: str | None = field("Number of the invoice, payment or credit.")
    description: str = field("What happened, e.g. which invoices a payment was applied to.")
    amount: Decimal = money("amount", "Change to what the client owes (signed).")
    balance: Decimal = money("balance", "What the client owes after this row.")
    due_date: date | None = field("An invoice's due date.")

    @field("Day it happened (in the account's time zone).", name="date")
    def on(self, root: strawberry.Parent[StatementEntryRow]) -> date:
        return root.on

    @field("Id of the invoice, payment or credit.")
    def document_id(self, root: strawberry.Parent[StatementEntryRow]) -> strawberry.ID:
        return strawberry.ID(str(root.document_id))


@strawberry.type(description="Open invoice balances at the end of a period, by days past due.")
class StatementAging:
    current: Decimal = money("current", "Not yet due.")
    days_1_to_30: Decimal = money("days_1_30", "1 to 30 days past due.")
    days_31_to_60: Decimal = money("days_31_60", "31 to 60 days past due.")
    days_61_to_90: Decimal = money("days_61_90", "61 to 90 days past due.")
    over_90: Decimal = money("over_90", "More than 90 days past due.")
    total: Decimal = money("total", "Sum of the buckets (the closing balance).")


@strawberry.type(
    description=(
        "A client's account over a period, in one currency: what it owed at the start,"
        " each invoice, payment, credit and refund with the running balance, what it owes"
        " at the end, and how old the open amounts are."
    )
)
class Statement:
    currency: str = field("ISO 4217 currency of every amount on this statement.")
    currencies: list[str] = field(
        "Every currency the client was invoiced in (ask for another with `currency`)."
    )
    opening_balance: Decimal = money("opening_balance", "What the client owed at the start.")
    invoiced: Decimal = money("invoiced", "Invoices issued in the period (all of them).")
    received: Decimal = money(
        "received", "Payments and credits applied in the period, less refunds."
    )
    closing_balance: Decimal = money("closing_balance", "What the client owed at the end.")
    entries: list[StatementEntry] = field(
        "The rows, oldest first, filtered by `status`.", permission=_READ, module=_STATEMENTS
    )
    aging: StatementAging = field(
        "Open invoice balances at the end, by days past due.",
        permission=_READ,
        module=_STATEMENTS,
    )
    generated_at: datetime = field("When the statement was built.")

    @field("First day of the period.", name="from")
    def date_from(self, root: strawberry.Parent[StatementRow]) -> date:
        return root.date_from

    @field("Last day of the period.", name="to")
    def date_to(self, root: strawberry.Parent[StatementRow]) -> date:
        return root.date_to

    @field("Which invoices are listed.")
    def status(self, root: strawberry.Parent[StatementRow]) -> StatementStatus:
        return root.status

    @field("The client the statement is of.")
    def client(
        self, root: strawberry.Parent[StatementRow]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")]:
        return root.client  # type: ignore[return-value]

    @field(
        "A link to this statement as a PDF, valid for a few minutes"
        " (PORTICO_DOWNLOAD_URL_TTL_SECONDS)."
    )
    def pdf_url(self, info: Info, root: strawberry.Parent[StatementRow]) -> str:
        return resolvers.statement_pdf_url(info, root)


@strawberry.type
class StatementQuery:
    @field(
        "A client's statement for a period. Contacts get their own client's; staff and"
        " partners name the client. The period is at most five years.",
        permission=_READ,
        module=_STATEMENTS,
    )
    async def statement(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from", description="First day.")],
        to: Annotated[date, strawberry.argument(description="Last day (inclusive).")],
        status: Annotated[
            StatementStatus, strawberry.argument(description="Which invoices to list.")
        ] = StatementStatus.ALL,
        client_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="The client (staff and partners; required)."),
        ] = None,
        currency: Annotated[
            str | None,
            strawberry.argument(description="ISO 4217 code; the client's currency if omitted."),
        ] = None,
    ) -> Statement:
        return await resolvers.statement(  # type: ignore[return-value]
            info,
            date_from=from_,
            date_to=to,
            status=status,
            client_id=client_id,
            currency=currency,
        )
