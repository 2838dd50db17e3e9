"""``dashboard``: one query for the landing screen (seeds 000, 002).

One type for every caller, scoped to it: a contact's dashboard is its client's, a staff
user's (or partner's) the account's, or one client's with ``clientId``. Each part carries
the ``@requires`` of what it shows, so a contact without a module — or a role without the
permission — does not even see the part (a root field has one type in GraphQL, and
profiles prune fields, not types: so staff get the same ``Dashboard`` with the account's
figures rather than a type of their own).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from auth.policy import Permission
from models.enums import Module
from resolvers import dashboard as resolvers
from resolvers.context import Info
from schema.fields import field
from schema.pagination import Connection
from services import dashboard
from services.dashboard import DashboardScope
from services.dashboard import UpcomingPayment as UpcomingPaymentRow

if TYPE_CHECKING:
    from schema.clients import Client
    from schema.invoices import Invoice
    from schema.payment_methods import PaymentMethod
    from schema.payments import Payment
    from schema.quotes import Quote
    from schema.recurring import RecurringInvoice
    from schema.subscriptions import ClientSubscription

_PAGE = 5


@strawberry.type(description="A sum in one currency, and how many items it counts.")
class CurrencyTotal:
    currency: str = field("ISO 4217 currency code.")
    amount: Decimal = field("The exact sum, at the currency's precision.")
    count: int = field("How many invoices or payments it sums.")


@strawberry.type(description="A future invoice of a recurring invoice: when, and what for.")
class UpcomingPayment:
    @field("The day the invoice is issued (and charged, when automatic).", name="date")
    def issued_on(self, root: strawberry.Parent[UpcomingPaymentRow]) -> date:
        return root.date

    amount: Decimal = field(
        "What it is for: the recurring invoice's total.",
        permission=Permission.RECURRING_READ,
        module=Module.RECURRING_INVOICES,
    )
    currency: str = field("ISO 4217 currency of the amount.")
    charged_automatically: bool = field(
        "Whether it is charged to a saved payment method when issued."
    )

    @field(
        "The recurring invoice it comes from.",
        permission=Permission.RECURRING_READ,
        module=Module.RECURRING_INVOICES,
    )
    def recurring_invoice(
        self, root: strawberry.Parent[UpcomingPaymentRow]
    ) -> Annotated[RecurringInvoice, strawberry.lazy("schema.recurring")]:
        return root.recurring_invoice  # type: ignore[return-value]


@strawberry.type(
    description="The landing screen: what is owed, due, paid, waiting for an answer and "
    "coming up — the caller's own (a contact: its client's; staff: the account's or one "
    "client's). Each part exists only where the caller's profile may read it."
)
class Dashboard:
    @field('The account\'s local date the figures are for ("this month" counts from it).')
    def today(self, root: strawberry.Parent[DashboardScope]) -> date:
        return root.today

    @field(
        "The client: name, company and avatar for the header (null on the account's dashboard).",
        permission=Permission.CLIENTS_READ,
    )
    async def client(
        self, info: Info, root: strawberry.Parent[DashboardScope]
    ) -> Annotated[Client, strawberry.lazy("schema.clients")] | None:
        return await resolvers.dashboard_client(info, root)  # type: ignore[return-value]

    @field(
        "What is still owed on open invoices, per currency.",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    async def outstanding(
        self, info: Info, root: strawberry.Parent[DashboardScope]
    ) -> list[CurrencyTotal]:
        return await dashboard.outstanding(info.context.session, root)  # type: ignore[return-value]

    @field(
        "What is owed on overdue invoices (those whose `isOverdue` is true), per currency.",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    async def overdue(
        self, info: Info, root: strawberry.Parent[DashboardScope]
    ) -> list[CurrencyTotal]:
        return await dashboard.overdue(info.context.session, root)  # type: ignore[return-value]

    @field(
        "Payments received this month (in the account's time zone), net of refunds, per currency.",
        permission=Permission.PAYMENTS_READ,
        module=Module.PAYMENTS,
    )
    async def received_this_month(
        self, info: Info, root: strawberry.Parent[DashboardScope]
    ) -> list[CurrencyTotal]:
        return await dashboard.received_this_month(info.context.session, root)  # type: ignore[return-value]

    @field(
        "Invoices with something left to pay, newest first.",
        permission=Permission.INVOICES_READ,
        module=Module.INVOICES,
    )
    async def open_invoices(
        self,
        info: Info,
        root: strawberry.Parent[DashboardScope],
        first: int | None = _PAGE,
        after: str | None = None,
    ) -> Connection[Annotated[Invoice, strawberry.lazy("schema.invoices")]]:
        return await resolvers.open_invoices(info, root, first=first, after=after)  # type: ignore[return-value]

    @field(
        "Received payments, newest first.",
        permission=Permission.PAYMENTS_READ,
        module=Module.PAYMENTS,
    )
    async def recent_payments(
        self,
        info: Info,
        root: strawberry.Parent[DashboardScope],
        first: int | None = _PAGE,
        after: str | None = None,
    ) -> Connection[Annotated[Payment, strawberry.lazy("schema.payments")]]:
        return await dashboard.recent_payments(  # type: ignore[return-value]
            info.context.session, root, first=first, after=after
        )

    @field(
        "Estimates and proposals waiting for an answer and still valid, newest first.",
        permission=Permission.QUOTES_READ,
        module=Module.QUOTES,
    )
    async def open_quotes(
        self,
        info: Info,
        root: strawberry.Parent[DashboardScope],
        first: int | None = _PAGE,
        after: str | None = None,
    ) -> Connection[Annotated[Quote, strawberry.lazy("schema.quotes")]]:
        return await dashboard.open_quotes(  # type: ignore[return-value]
            info.context.session, root, first=first, after=after
        )

    @field(
        "Subscriptions in force (trialing, active or past due), newest first; each with "
        "its `plan`.",
        permission=Permission.SUBSCRIPTIONS_READ,
        module=Module.SUBSCRIPTIONS,
    )
    async def active_subscriptions(
        self,
        info: Info,
        root: strawberry.Parent[DashboardScope],
        first: int | None = _PAGE,
        after: str | None = None,
    ) -> Connection[Annotated[ClientSubscription, strawberry.lazy("schema.subscriptions")]]:
        return await dashboard.active_subscriptions(  # type: ignore[return-value]
            info.context.session, root, first=first, after=after
        )

    @field(
        "The next invoices of active recurring invoices, soonest first: `count` of them.",
        permission=Permission.RECURRING_READ,
        module=Module.RECURRING_INVOICES,
    )
    async def upcoming_payments(
        self, info: Info, root: strawberry.Parent[DashboardScope], count: int = _PAGE
    ) -> list[UpcomingPayment]:
        return await dashboard.upcoming_payments(  # type: ignore[return-value]
            info.context.session, root, count=count
        )

    @field(
        "Saved payment methods, newest first.",
        permission=Permission.PAYMENT_METHODS_READ,
        module=Module.PAYMENT_METHODS,
    )
    async def payment_methods(
        self,
        info: Info,
        root: strawberry.Parent[DashboardScope],
        first: int | None = _PAGE,
        after: str | None = None,
    ) -> Connection[Annotated[PaymentMethod, strawberry.lazy("schema.payment_methods")]]:
        return await dashboard.payment_methods(  # type: ignore[return-value]
            info.context.session, root, first=first, after=after
        )


@strawberry.type
class DashboardQuery:
    @field(
        "The landing screen in one query: a contact's client's, or (staff) the account's — "
        "or one client's, with `clientId`."
    )
    async def dashboard(self, info: Info, client_id: strawberry.ID | None = None) -> Dashboard:
        return await resolvers.dashboard_scope(info, client_id)  # type: ignore[return-value]
