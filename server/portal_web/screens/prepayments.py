"""Paying ahead, where the account lets clients: an amount now (a PaymentIntent
confirmed by Stripe.js, as Pay Now) or on a schedule, and stopping a recurring one."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from models.accounts import Account
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
from server.portal_web.security import STRIPE_JS

CURRENT = "prepayment"
INVALID = "not a number"
"""Sent for an amount that is not a number: the API refuses it (BAD_USER_INPUT)."""


def enabled(account: Account) -> bool:
    """Whether the tab is drawn (the page itself asks the API, ``prepayment.graphql``)."""
    return account.client_prepayments_enabled


async def shown(
    portal: Portal,
    visit: Visit,
    *,
    status_code: int = 200,
    error: str | None = None,
    amount: str = "",
) -> Response:
    """The page, from its document: 404 where the visitor's schema lacks it or the
    account (as the API answers it) does not let clients pay ahead."""
    if not portal.documents.exists(visit.principal, "prepayment"):
        return portal.not_found()
    answer = await portal.run(visit.request, visit.session, visit.principal, "prepayment")
    if answer.data is None or answer.failures:
        return portal.not_found()
    if not answer.data["account"]["clientPrepaymentsEnabled"]:
        return portal.not_found()
    return await portal.render_page(
        visit,
        "prepayment.html",
        answer.data,
        current=CURRENT,
        status_code=status_code,
        frequencies=FREQUENCIES,
        amount=amount,
        error=error,
    )


async def prepayment(portal: Portal, request: Request) -> Response:
    async with portal.runtime.sessions() as session:
        visit = await portal.visit(request, session)
        if isinstance(visit, Response):
            return visit
        return await shown(portal, visit)


def prepayment_variables(form: dict[str, str]) -> dict[str, Any]:
    amount = form.get("amount", "").strip().replace(",", "")
    try:
        Decimal(amount)
    except InvalidOperation:
        amount = INVALID
    recurring = None
    if form.get("frequency") in FREQUENCIES:
        cycles = form.get("cycles", "").strip()
        recurring = {
            "frequency": form["frequency"],
            "cycles": int(cycles) if cycles.isdigit() else None,
        }
    return {"amount": amount, "recurring": recurring}


async def make_prepayment(portal: Portal, request: Request) -> Response:
    amount: list[str] = []

    def variables(form: dict[str, str]) -> dict[str, Any]:
        amount.append(form.get("amount", ""))
        return prepayment_variables(form)

    async def done(visit: Visit, data: dict[str, Any]) -> Response:
        return await portal.render_page(
            visit,
            "prepay.html",
            data,
            current=CURRENT,
            stripe=True,
            stripe_js=f"{STRIPE_JS}/v3/",
            return_url=str(request.base_url).rstrip("/")
            + portal.url(visit.slug, CURRENT, notice="paying"),
        )

    async def failed(visit: Visit, answer: Answer) -> Response:
        message = first_message(answer)
        if prepayment_variables({"amount": amount[0]})["amount"] == INVALID:
            message = "Enter the amount as a number, such as 250.00."
        return await shown(portal, visit, status_code=400, error=message, amount=amount[0])

    return await portal.action(request, "make_prepayment", variables, done=done, failed=failed)


async def cancel(portal: Portal, request: Request) -> Response:
    prepayment_id = path_id(request)
    if prepayment_id is None:
        return portal.not_found()

    async def done(visit: Visit, _data: dict[str, Any]) -> Response:
        return portal.redirect(portal.url(visit.slug, CURRENT, notice="stopped"))

    async def failed(visit: Visit, answer: Answer) -> Response:
        if "NOT_FOUND" in answer.codes:
            return portal.not_found()
        return await shown(portal, visit, status_code=400, error=first_message(answer))

    return await portal.action(
        request, "cancel_prepayment", lambda _form: {"id": prepayment_id}, done=done, failed=failed
    )


ROUTES: list[Page] = [
    Page("/prepayment", prepayment, GET),
    Page("/prepayment", make_prepayment, POST),
    Page("/prepayment/{id}/cancel", cancel, POST),
]
TABS: list[Tab] = [Tab("Pay ahead", CURRENT, "prepayment", order=75, shown=enabled)]
