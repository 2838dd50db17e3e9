"""Saved payment methods: the list, adding a card (a SetupIntent confirmed by Stripe.js
on ``add_card.html``), making one the default, removing one."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import GET, POST, Page, Portal, Tab, Visit, first_message, path_id
from server.portal_web.documents import Answer
from server.portal_web.security import STRIPE_JS

CURRENT = "payment-methods"


async def payment_methods(portal: Portal, request: Request) -> Response:
    return await portal.page(request, "payment_methods", current=CURRENT, error=None)


async def with_error(portal: Portal, visit: Visit, answer: Answer) -> Response:
    """The list again, with what went wrong (400); 404 for a method not theirs."""
    if "NOT_FOUND" in answer.codes:
        return portal.not_found()
    shown = await portal.run(visit.request, visit.session, visit.principal, "payment_methods")
    if shown.data is None:
        return portal.not_found()
    return await portal.render_page(
        visit,
        "payment_methods.html",
        shown.data,
        current=CURRENT,
        status_code=400,
        error=first_message(answer),
    )


async def add_card(portal: Portal, request: Request) -> Response:
    async def done(visit: Visit, data: dict[str, Any]) -> Response:
        return await portal.render_page(
            visit,
            "add_card.html",
            data,
            current=CURRENT,
            stripe=True,
            stripe_js=f"{STRIPE_JS}/v3/",
            return_url=str(request.base_url).rstrip("/")
            + portal.url(visit.slug, "payment-methods", notice="card-saving"),
        )

    async def failed(visit: Visit, answer: Answer) -> Response:
        return await with_error(portal, visit, answer)

    return await portal.action(request, "add_card", lambda _form: {}, done=done, failed=failed)


async def method_action(portal: Portal, request: Request, name: str, notice: str) -> Response:
    method_id = path_id(request)
    if method_id is None:
        return portal.not_found()

    async def done(visit: Visit, _data: dict[str, Any]) -> Response:
        return portal.redirect(portal.url(visit.slug, "payment-methods", notice=notice))

    async def failed(visit: Visit, answer: Answer) -> Response:
        return await with_error(portal, visit, answer)

    return await portal.action(
        request, name, lambda _form: {"id": method_id}, done=done, failed=failed
    )


async def set_default(portal: Portal, request: Request) -> Response:
    return await method_action(portal, request, "set_default_payment_method", "default-set")


async def remove(portal: Portal, request: Request) -> Response:
    return await method_action(portal, request, "remove_payment_method", "removed")


ROUTES: list[Page] = [
    Page("/payment-methods", payment_methods, GET),
    Page("/payment-methods/add", add_card, POST),
    Page("/payment-methods/{id}/default", set_default, POST),
    Page("/payment-methods/{id}/remove", remove, POST),
]
TABS: list[Tab] = [Tab("Payment methods", CURRENT, "payment_methods", order=40)]
