"""The landing query: whose dashboard, then one service call per part asked for."""

from __future__ import annotations

from resolvers.common import caller, parse_optional_id
from resolvers.context import Info
from resolvers.views import ClientView
from services import dashboard
from services.errors import NotFound
from services.quotes import local_today


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
