"""Invoices: the list (outstanding, paid, all), one invoice, and Pay Now (a
PaymentIntent confirmed by Stripe.js on ``pay.html``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import GET, POST, Page, Portal, Tab, Visit, first_message, path_id
from server.portal_web.documents import Answer
from server.portal_web.security import STRIPE_JS

INVOICE_FILTERS: dict[str, list[str] | None] = {
    "outstanding": ["SENT", "VIEWED", "PARTIAL"],
    "paid": ["PAID"],
    "all": None,
}


async def invoices(portal: Portal, request: Request) -> Response:
    shown = request.query_params.get("status", "outstanding")
    if shown not in INVOICE_FILTERS:
        shown = "outstanding"
    variables: dict[str, Any] = {"status": INVOICE_FILTERS[shown]}
    if after := request.query_params.get("after"):
        variables["after"] = after
    return await portal.page(
        request,
        "invoices",
        current="invoices",
        variables=variables,
        shown=shown,
        filters=list(INVOICE_FILTERS),
    )


async def invoice(portal: Portal, request: Request) -> Response:
    invoice_id = path_id(request)
    if invoice_id is None:
        return portal.not_found()
    return await portal.page(
        request, "invoice", current="invoices", variables={"id": invoice_id}, error=None
    )


async def invoice_with_error(
    portal: Portal, visit: Visit, invoice_id: str, answer: Answer
) -> Response:
    if "NOT_FOUND" in answer.codes:
        return portal.not_found()
    shown = await portal.run(
        visit.request, visit.session, visit.principal, "invoice", {"id": invoice_id}
    )
    if shown.data is None:
        return portal.not_found()
    return await portal.render_page(
        visit,
        "invoice.html",
        shown.data,
        current="invoices",
        status_code=400,
        error=first_message(answer),
    )


async def pay(portal: Portal, request: Request) -> Response:
    invoice_id = path_id(request)
    if invoice_id is None:
        return portal.not_found()

    async def done(visit: Visit, data: dict[str, Any]) -> Response:
        return await portal.render_page(
            visit,
            "pay.html",
            data,
            current="invoices",
            stripe=True,
            stripe_js=f"{STRIPE_JS}/v3/",
            invoice_id=invoice_id,
            return_url=str(request.base_url).rstrip("/")
            + portal.url(visit.slug, f"invoices/{invoice_id}", notice="paying"),
        )

    async def failed(visit: Visit, answer: Answer) -> Response:
        return await invoice_with_error(portal, visit, invoice_id, answer)

    return await portal.action(
        request, "pay", lambda _form: {"invoiceIds": [invoice_id]}, done=done, failed=failed
    )


ROUTES: list[Page] = [
    Page("/invoices", invoices, GET),
    Page("/invoices/{id}", invoice, GET),
    Page("/invoices/{id}/pay", pay, POST),
]
TABS: list[Tab] = [Tab("Invoices", "invoices", "invoices", order=10)]
