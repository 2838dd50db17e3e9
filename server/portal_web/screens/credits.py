"""Credits: the credit available per currency and each credit note with what is left."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import GET, Page, Portal, Tab


async def credits(portal: Portal, request: Request) -> Response:
    variables: dict[str, Any] = {}
    if after := request.query_params.get("after"):
        variables["after"] = after
    return await portal.page(request, "credits", current="credits", variables=variables)


ROUTES: list[Page] = [Page("/credits", credits, GET)]
TABS: list[Tab] = [Tab("Credits", "credits", "credits", order=70)]
