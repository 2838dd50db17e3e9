"""Invoices: the list (outstanding, paid, all), one invoice, and Pay Now: with a saved
card, charged at once (``pay.html`` only when the bank asks the payer to authenticate,
3-D Secure), else a new card in Stripe.js's Payment Element on ``pay.html``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import (
    GET,
    POST,
    Page,
    Portal,
    Tab,
    Visit,
    first_message,
    path_id,
    uuid_or_none,
)
from server.portal_web.documents import Answer
from server.portal_web.security import STRIPE_JS

INVOICE_PARTS = ("invoice_cards",)
"""The saved cards to pay with, where the visitor's schema has them."""
INVOICE_FILTERS: dict[str, list[str] | None] = {
    "outstanding": ["SENT", "VIEWED", "PARTIAL"],
    "paid": ["PAID"],
    "all": None,
}


def listing_variables(request: Request) -> tuple[str, dict[str, Any]]:
    shown = request.query_params.get("status", "outstanding")
    if shown not in INVOICE_FILTERS:
        shown = "outstanding"
    variables: dict[str, Any] = {"status": INVOICE_FILTERS[shown]}
    if after := request.query_params.get("after"):
        variables["after"] = after
    return shown, variables


async def invoices(portal: Portal, request: Request) -> Response:
    shown, variables = listing_variables(request)
    return await portal.page(
        request,
        "invoices",
        current="invoices",
        variables=variables,
        shown=shown,
        filters=list(INVOICE_FILTERS),
        error=None,
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


async def paying(
    portal: Portal,
    request: Request,
    invoice_ids: Callable[[dict[str, str]], list[str]],
    *,
    back: str | None,
    failed: Callable[[Visit, Answer], Awaitable[Response]],
) -> Response:
    """``payInvoices`` for the invoices the form names: a saved card charged at once goes
    on to ``back`` (the invoice, else the list), else ``pay.html`` for Stripe.js."""

    async def done(visit: Visit, data: dict[str, Any]) -> Response:
        paying = portal.url(visit.slug, back or "invoices", notice="paying")
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
            invoice_id=back.removeprefix("invoices/") if back else None,
            return_url=str(request.base_url).rstrip("/") + paying,
        )

    def variables(form: dict[str, str]) -> dict[str, Any]:
        return {
            "invoiceIds": invoice_ids(form),
            "paymentMethodId": uuid_or_none(form.get("paymentMethod", "").strip()),
        }

    return await portal.action(request, "pay", variables, done=done, failed=failed)


async def pay(portal: Portal, request: Request) -> Response:
    invoice_id = path_id(request)
    if invoice_id is None:
        return portal.not_found()

    async def failed(visit: Visit, answer: Answer) -> Response:
        return await invoice_with_error(portal, visit, invoice_id, answer)

    return await paying(
        portal, request, lambda _form: [invoice_id], back=f"invoices/{invoice_id}", failed=failed
    )


def chosen_invoices(form: dict[str, str]) -> list[str]:
    """The invoices ticked on the list (``invoice-<id>`` fields)."""
    chosen = (
        uuid_or_none(key.removeprefix("invoice-")) for key in form if key.startswith("invoice-")
    )
    return [invoice_id for invoice_id in chosen if invoice_id]


async def pay_several(portal: Portal, request: Request) -> Response:
    async def failed(visit: Visit, answer: Answer) -> Response:
        shown, variables = listing_variables(request)
        listing = await portal.run(
            visit.request, visit.session, visit.principal, "invoices", variables
        )
        return await portal.render_page(
            visit,
            "invoices.html",
            listing.data or {"invoices": {"nodes": [], "pageInfo": {}}},
            current="invoices",
            status_code=400,
            shown=shown,
            filters=list(INVOICE_FILTERS),
            error=first_message(answer),
        )

    return await paying(portal, request, chosen_invoices, back=None, failed=failed)


ROUTES: list[Page] = [
    Page("/invoices", invoices, GET),
    Page("/invoices/{id}", invoice, GET),
    Page("/invoices/pay", pay_several, POST),
    Page("/invoices/{id}/pay", pay, POST),
]
TABS: list[Tab] = [Tab("Invoices", "invoices", "invoices", order=10)]
