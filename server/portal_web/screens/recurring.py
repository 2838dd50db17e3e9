"""Recurring invoices: frequency, next date, cycles left, and the auto-bill switch where
the business leaves the choice to the client."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import (
    FREQUENCIES,
    GET,
    POST,
    Page,
    Portal,
    Tab,
    Visit,
    first_message,
    path_id,
)
from server.portal_web.documents import Answer

CURRENT = "recurring"


async def recurring(portal: Portal, request: Request) -> Response:
    return await portal.page(
        request, "recurring", current=CURRENT, frequencies=FREQUENCIES, error=None
    )


async def auto_bill(portal: Portal, request: Request) -> Response:
    recurring_id = path_id(request)
    if recurring_id is None:
        return portal.not_found()
    enabled: list[bool] = []

    def variables(form: dict[str, str]) -> dict[str, Any]:
        enabled.append(form.get("enabled") == "yes")
        return {"id": recurring_id, "enabled": enabled[0]}

    async def done(visit: Visit, _data: dict[str, Any]) -> Response:
        notice = "auto-bill-on" if enabled[0] else "auto-bill-off"
        return portal.redirect(portal.url(visit.slug, CURRENT, notice=notice))

    async def failed(visit: Visit, answer: Answer) -> Response:
        if "NOT_FOUND" in answer.codes:
            return portal.not_found()
        shown = await portal.run(visit.request, visit.session, visit.principal, "recurring")
        if shown.data is None:
            return portal.not_found()
        return await portal.render_page(
            visit,
            "recurring.html",
            shown.data,
            current=CURRENT,
            status_code=400,
            frequencies=FREQUENCIES,
            error=first_message(answer),
        )

    return await portal.action(request, "set_auto_bill", variables, done=done, failed=failed)


ROUTES: list[Page] = [
    Page("/recurring", recurring, GET),
    Page("/recurring/{id}/auto-bill", auto_bill, POST),
]
TABS: list[Tab] = [Tab("Recurring", CURRENT, "recurring", order=60)]
