"""Support tickets: the client's tickets, opening one, one ticket's conversation and the
reply form (each form where the visitor's schema has its mutation)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import BOTH, GET, POST, Page, Portal, Tab, Visit, first_message, path_id
from server.portal_web.documents import Answer


async def tickets(portal: Portal, request: Request) -> Response:
    if request.method == "POST":
        return await open_ticket(portal, request)
    after = request.query_params.get("after")
    return await portal.page(
        request,
        "support_tickets",
        current="support",
        variables={"after": after} if after else {},
        error=None,
        form=None,
    )


async def open_ticket(portal: Portal, request: Request) -> Response:
    sent: dict[str, str] = {}

    def variables(form: dict[str, str]) -> dict[str, Any]:
        sent.update(subject=form.get("subject", ""), body=form.get("body", ""))
        return {"input": {"subject": sent["subject"].strip(), "body": sent["body"].strip()}}

    async def done(visit: Visit, data: dict[str, Any]) -> Response:
        ticket_id = data["openSupportTicket"]["id"]
        return portal.redirect(portal.url(visit.slug, f"support/{ticket_id}", notice="opened"))

    async def failed(visit: Visit, answer: Answer) -> Response:
        shown = await portal.run(visit.request, visit.session, visit.principal, "support_tickets")
        if shown.data is None:
            return portal.not_found()
        return await portal.render_page(
            visit,
            "support_tickets.html",
            shown.data,
            current="support",
            status_code=400,
            error=first_message(answer),
            form=sent,
        )

    return await portal.action(request, "open_ticket", variables, done=done, failed=failed)


async def ticket(portal: Portal, request: Request) -> Response:
    ticket_id = path_id(request)
    if ticket_id is None:
        return portal.not_found()
    return await portal.page(
        request, "support_ticket", current="support", variables={"id": ticket_id}, error=None
    )


async def reply(portal: Portal, request: Request) -> Response:
    ticket_id = path_id(request)
    if ticket_id is None:
        return portal.not_found()

    async def done(visit: Visit, _data: dict[str, Any]) -> Response:
        return portal.redirect(portal.url(visit.slug, f"support/{ticket_id}", notice="replied"))

    async def failed(visit: Visit, answer: Answer) -> Response:
        return await portal.shown_with_error(
            visit,
            answer,
            document="support_ticket",
            variables={"id": ticket_id},
            template="support_ticket.html",
            current="support",
        )

    return await portal.action(
        request,
        "reply_to_ticket",
        lambda form: {"ticketId": ticket_id, "body": form.get("body", "").strip()},
        done=done,
        failed=failed,
    )


ROUTES: list[Page] = [
    Page("/support", tickets, BOTH),
    Page("/support/{id}", ticket, GET),
    Page("/support/{id}/reply", reply, POST),
]
TABS: list[Tab] = [Tab("Support", "support", "support_tickets", order=130)]
