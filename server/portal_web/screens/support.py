"""Support tickets: the client's tickets, opening one, one ticket's conversation (each
message's attachments where the visitor reads documents) and the reply form, with a file
to attach where they may upload (each form where the visitor's schema has its mutation)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import BOTH, GET, POST, Page, Portal, Tab, Visit, first_message, path_id
from server.portal_web.documents import Answer
from server.portal_web.security import CSRF_FIELD

TICKET_PARTS = ("support_ticket_attachments",)
"""Each message's attachments, where the visitor's schema reads documents."""


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
        request,
        "support_ticket",
        current="support",
        variables={"id": ticket_id},
        parts=TICKET_PARTS,
        error=None,
    )


async def reply(portal: Portal, request: Request) -> Response:
    """The reply form's POST (multipart where a file may be attached): CSRF checked; a
    file goes with the reply in one mutation (``reply_with_attachment``), so a reply that
    fails keeps no file."""
    ticket_id = path_id(request)
    if ticket_id is None:
        return portal.not_found()
    async with portal.runtime.sessions() as session:
        visit = await portal.visit(request, session)
        if isinstance(visit, Response):
            return visit
        async with request.form() as form:
            token = form.get(CSRF_FIELD)
            if not portal.csrf.check(token if isinstance(token, str) else None, visit.holder):
                return portal.forbidden()
            if not portal.documents.exists(visit.principal, "reply_to_ticket"):
                return portal.not_found()
            body = form.get("body")
            variables: dict[str, Any] = {
                "ticketId": ticket_id,
                "body": body.strip() if isinstance(body, str) else "",
            }
            document = "reply_to_ticket"
            file = form.get("file")
            if isinstance(file, UploadFile) and file.filename:
                if not portal.documents.exists(visit.principal, "upload_document"):
                    return portal.not_found()
                variables["file"] = file
                document = "reply_with_attachment"
            answer = await portal.run(request, session, visit.principal, document, variables)
        if "UNAUTHENTICATED" in answer.codes:
            return portal.signed_out(visit.slug, notice="signed-out")
        if answer.data is None or answer.failures:
            return await reply_failed(portal, visit, ticket_id, answer)
        return portal.redirect(portal.url(visit.slug, f"support/{ticket_id}", notice="replied"))


async def reply_failed(portal: Portal, visit: Visit, ticket_id: str, answer: Answer) -> Response:
    return await portal.shown_with_error(
        visit,
        answer,
        document="support_ticket",
        variables={"id": ticket_id},
        template="support_ticket.html",
        current="support",
        parts=TICKET_PARTS,
    )


ROUTES: list[Page] = [
    Page("/support", tickets, BOTH),
    Page("/support/{id}", ticket, GET),
    Page("/support/{id}/reply", reply, POST),
]
TABS: list[Tab] = [Tab("Support", "support", "support_tickets", order=130)]
