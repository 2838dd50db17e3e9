"""Invoices: the list (outstanding, paid, all), one invoice, and Pay Now: with a saved
card, charged at once (``pay.html`` only when the bank asks the payer to authenticate,
3-D Secure), else a new card in Stripe.js's Payment Element on ``pay.html``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import GET, POST, Page, Portal, Tab, Visit, path_id, uuid_or_none
from server.portal_web.documents import Answer
from server.portal_web.security import STRIPE_JS

INVOICE_PARTS = ("invoice_cards",)
"""The saved cards to pay with, where the visitor's schema has them."""
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
        request,
        "invoice",
        current="invoices",
        variables={"id": invoice_id},
        parts=INVOICE_PARTS,
        error=None,
    )


async def invoice_with_error(
    portal: Portal, visit: Visit, invoice_id: str, answer: Answer
) -> Response:
    return await portal.shown_with_error(
        visit,
        answer,
        document="invoice",
        variables={"id": invoice_id},
        template="invoice.html",
        current="invoices",
        parts=INVOICE_PARTS,
    )


def pay_variables(invoice_id: str, form: dict[str, str]) -> dict[str, Any]:
    """The invoice, and the saved payment method chosen (none: a new card in Stripe.js)."""
    method = form.get("paymentMethod", "").strip()
    return {"invoiceIds": [invoice_id], "paymentMethodId": uuid_or_none(method)}


async def pay(portal: Portal, request: Request) -> Response:
    invoice_id = path_id(request)
    if invoice_id is None:
        return portal.not_found()

    async def done(visit: Visit, data: dict[str, Any]) -> Response:
        paying = portal.url(visit.slug, f"invoices/{invoice_id}", notice="paying")
        if not data["payInvoices"]["clientSecret"]:
            # a saved card charged at once: Stripe needs nothing more from the browser
            return portal.redirect(paying)
        return await portal.render_page(
            visit,
            "pay.html",
            data,
            current="invoices",
            stripe=True,
            stripe_js=f"{STRIPE_JS}/v3/",
            invoice_id=invoice_id,
            return_url=str(request.base_url).rstrip("/") + paying,
        )

    async def failed(visit: Visit, answer: Answer) -> Response:
        return await invoice_with_error(portal, visit, invoice_id, answer)

    return await portal.action(
        request, "pay", lambda form: pay_variables(invoice_id, form), done=done, failed=failed
    )


ROUTES: list[Page] = [
    Page("/invoices", invoices, GET),
    Page("/invoices/{id}", invoice, GET),
    Page("/invoices/{id}/pay", pay, POST),
]
TABS: list[Tab] = [Tab("Invoices", "invoices", "invoices", order=10)]
