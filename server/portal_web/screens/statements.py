"""Statements of account: a period (the last 90 days unless chosen), which invoices to
list (all, paid, unpaid), the entries, the ageing and a PDF download."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import GET, Page, Portal, Tab, first_message

CURRENT = "statements"
STATUSES = (("ALL", "All"), ("UNPAID", "Unpaid"), ("PAID", "Paid"))
DEFAULT_DAYS = 90


def period(request: Request) -> tuple[dict[str, str], str | None]:
    """The period and filter asked for, and what is wrong with them (None: nothing)."""
    today = datetime.now(UTC).date()
    query = request.query_params
    chosen = {
        "from": query.get("from") or (today - timedelta(days=DEFAULT_DAYS)).isoformat(),
        "to": query.get("to") or today.isoformat(),
        "status": query.get("status", "ALL"),
    }
    if chosen["status"] not in dict(STATUSES):
        chosen["status"] = "ALL"
    try:
        start, end = date.fromisoformat(chosen["from"]), date.fromisoformat(chosen["to"])
    except ValueError:
        return chosen, "Enter the dates as year-month-day."
    if start > end:
        return chosen, "The first day must not be after the last."
    return chosen, None


async def statements(portal: Portal, request: Request) -> Response:
    chosen, problem = period(request)
    async with portal.runtime.sessions() as session:
        visit = await portal.visit(request, session)
        if isinstance(visit, Response):
            return visit
        if not portal.documents.exists(visit.principal, "statement"):
            return portal.not_found()
        data: dict[str, Any] | None = None
        error = problem
        if problem is None:
            variables = {
                "from": chosen["from"],
                "to": chosen["to"],
                "status": chosen["status"],
                "currency": request.query_params.get("currency") or None,
            }
            answer = await portal.run(request, session, visit.principal, "statement", variables)
            if "UNAUTHENTICATED" in answer.codes:
                return portal.signed_out(visit.slug, notice="signed-out")
            if answer.failures or answer.data is None:
                error = first_message(answer)
            else:
                data = answer.data
        return await portal.render_page(
            visit,
            "statement.html",
            data or {},
            current=CURRENT,
            status_code=200 if error is None else 400,
            period=chosen,
            statuses=STATUSES,
            error=error,
        )


ROUTES: list[Page] = [Page("/statements", statements, GET)]
TABS: list[Tab] = [Tab("Statements", CURRENT, "statement", order=80)]
