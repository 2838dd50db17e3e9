"""Invoices: the list (outstanding, paid, all), one invoice, and Pay Now: with a saved
card, charged at once (``pay.html`` only when the bank asks the payer to authenticate,
3-D Secure), else a new card in Stripe.js's Payment Element on ``pay.html``.

Where the account lets a client choose how much to pay (partial payments, or an invoice
whose deposit is due first: ``pay_terms.graphql``, read where the visitor reads
payments), Pay Now has an amount per invoice, the balance by default. What is typed is
only read as a number here; the API decides what may be paid."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import (
    GET,
    POST,
    FormError,
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

INVOICE_PARTS = ("invoice_cards", "pay_terms")
"""The saved cards to pay with and what the account lets a client pay, where the
visitor's schema has them."""
LIST_PARTS = ("pay_terms",)
AMOUNT = re.compile(r"(?P<units>[0-9]{1,15})(?:(?P<separator>[.,])(?P<fraction>[0-9]{1,3}))?")
INVOICE_FILTERS: dict[str, list[str] | None] = {
    "outstanding": ["SENT", "VIEWED", "PARTIAL"],
    "paid": ["PAID"],
    "all": None,
}


def typed_amount(text: str) -> str | None:
    """An amount as the visitor typed it (``1250.50``, ``1250,50``), as the API reads it
    (``1250.50``); None when left empty. No thousands separators: ``1.250`` (1,250 in
    de_DE) or ``1,250`` (in en_US) is refused rather than read as 1.25 — which also
    leaves the third decimal of a KWD amount to the API itself."""
    text = text.strip()
    if not text:
        return None
    match = AMOUNT.fullmatch(text)
    if match is None:
        if text.startswith("-"):
            raise FormError("Enter an amount above zero.", field="amount")
        raise FormError("Enter the amount as a number, like 1250.00.", field="amount")
    fraction = match["fraction"]
    if fraction is None:
        return match["units"]
    if len(fraction) == 3:
        raise FormError(
            "Write the amount without thousands separators, like 1250.00.", field="amount"
        )
    return f"{match['units']}.{fraction}"


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
        parts=LIST_PARTS,
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
        chosen = invoice_ids(form)
        amounts = []
        for invoice_id in chosen:
            typed = form.get("amount" if back else f"amount-{invoice_id}", "")
            amount = typed_amount(typed)
            if amount is not None:
                amounts.append({"invoiceId": invoice_id, "amount": amount})
        return {
            "invoiceIds": chosen,
            "paymentMethodId": uuid_or_none(form.get("paymentMethod", "").strip()),
            "amounts": amounts or None,
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
