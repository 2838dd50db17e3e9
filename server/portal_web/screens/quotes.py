"""Quotes (estimates and proposals): the list, one quote, approve and decline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from server.portal_web.base import GET, POST, Page, Portal, Tab, Visit, path_id
from server.portal_web.documents import Answer


async def quotes(portal: Portal, request: Request) -> Response:
    return await portal.page(request, "quotes", current="quotes", variables={})


async def quote(portal: Portal, request: Request) -> Response:
    quote_id = path_id(request)
    if quote_id is None:
        return portal.not_found()
    return await portal.page(
        request, "quote", current="quotes", variables={"id": quote_id}, error=None
    )


async def quote_action(
    portal: Portal,
    request: Request,
    name: str,
    variables: Callable[[dict[str, str]], dict[str, Any]],
) -> Response:
    quote_id = path_id(request)
    if quote_id is None:
        return portal.not_found()
    notice = "approved" if name == "approve_quote" else "declined"

    async def done(visit: Visit, _data: dict[str, Any]) -> Response:
        return portal.redirect(portal.url(visit.slug, f"quotes/{quote_id}", notice=notice))

    async def failed(visit: Visit, answer: Answer) -> Response:
        return await portal.shown_with_error(
            visit,
            answer,
            document="quote",
            variables={"id": quote_id},
            template="quote.html",
            current="quotes",
        )

    return await portal.action(
        request,
        name,
        lambda form: {"id": quote_id, **variables(form)},
        done=done,
        failed=failed,
    )


async def approve_quote(portal: Portal, request: Request) -> Response:
    def variables(form: dict[str, str]) -> dict[str, Any]:
        return {
            "input": {
                "acceptTerms": form.get("accept_terms") == "yes",
                "poNumber": form.get("po_number") or None,
                "signatureName": form.get("signature_name") or None,
            }
        }

    return await quote_action(portal, request, "approve_quote", variables)


async def decline_quote(portal: Portal, request: Request) -> Response:
    return await quote_action(
        portal, request, "decline_quote", lambda form: {"reason": form.get("reason") or None}
    )


ROUTES: list[Page] = [
    Page("/quotes", quotes, GET),
    Page("/quotes/{id}", quote, GET),
    Page("/quotes/{id}/approve", approve_quote, POST),
    Page("/quotes/{id}/decline", decline_quote, POST),
]
TABS: list[Tab] = [Tab("Quotes", "quotes", "quotes", order=20)]
