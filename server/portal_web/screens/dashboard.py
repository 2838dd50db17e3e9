"""The landing screen (seeds 000, 002): the client, outstanding totals, open invoices,
recent payments, open quotes, subscriptions in force and the coming dates of recurring
invoices, each part drawn where its document exists for the visitor."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import FREQUENCIES, GET, Page, Portal, Tab


async def home(portal: Portal, request: Request) -> Response:
    return portal.redirect(portal.url(request.path_params["account"]))


async def dashboard(portal: Portal, request: Request) -> Response:
    if "token" in request.query_params:
        return await portal.redeem(request)
    return await portal.page(
        request,
        "dashboard",
        current="dashboard",
        parts=(
            "dashboard_client",
            "dashboard_invoices",
            "dashboard_payments",
            "dashboard_quotes",
            "dashboard_subscriptions",
            "dashboard_upcoming",
        ),
        frequencies=FREQUENCIES,
    )


ROUTES: list[Page] = [
    Page("/", home, GET),
    Page("/dashboard", dashboard, GET),
]
TABS: list[Tab] = [Tab("Dashboard", "dashboard", "dashboard", order=0)]
