"""Payments: the client's payment history."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import GET, Page, Portal, Tab


async def payments(portal: Portal, request: Request) -> Response:
    variables: dict[str, Any] = {}
    if after := request.query_params.get("after"):
        variables["after"] = after
    return await portal.page(request, "payments", current="payments", variables=variables)


ROUTES: list[Page] = [Page("/payments", payments, GET)]
TABS: list[Tab] = [Tab("Payments", "payments", "payments", order=30)]
