"""The landing query: whose dashboard, then one service call per part asked for."""

from __future__ import annotations

from resolvers.common import caller, parse_optional_id
from resolvers.context import Info
from resolvers.selection import node_columns_for
from resolvers.views import INVOICE_COLUMNS, ClientView
from services import dashboard
from services.errors import NotFound
from services.pagination import Page
from services.quotes import local_today
from services.rows import InvoiceView


async def dashboard_scope(info: Info, client_id: str | None) -> dashboard.DashboardScope:
    principal = caller(info)
    account = await info.context.loaders.account_by_id.load(principal.account_id)
    if account is None:  # pragma: no cover - principals always name an existing account
        raise NotFound("Account")
    return await dashboard.dashboard_scope(
        info.context.session,
        principal,
        client_id=parse_optional_id(client_id, field="clientId"),
        today=local_today(account.timezone),
    )


async def dashboard_client(info: Info, scope: dashboard.DashboardScope) -> ClientView | None:
    if scope.client_id is None:
        return None
    return await info.context.loaders.client_by_id.load(scope.client_id)


async def open_invoices(
    info: Info, scope: dashboard.DashboardScope, *, first: int | None, after: str | None
) -> Page[InvoiceView]:
    """The open invoices, reading only the columns their selection needs."""
    return await dashboard.open_invoices(
        info.context.session,
        scope,
        first=first,
        after=after,
        columns=node_columns_for(info, INVOICE_COLUMNS),
    )
