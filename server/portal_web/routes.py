"""The portal's routes under ``/portal/<account>/``: the route tables of the screen
modules in ``screens/`` joined.

A visit with a link's token (``dashboard``, ``open``, ``sign-in``, ``verify-email``)
exchanges it for a contact session through ``redeemPortalLink``, keeps the session in
the cookie and answers a 303 to the same page without the token. Every other page reads
the cookie's session as the API reads a bearer token (revoked, expired, archived client,
portal off: signed out at once) and fills its template from its document run as that
contact. Every form carries a CSRF token; a POST without a valid one is refused (403).

To add a screen family: a module in ``screens/`` exporting ``ROUTES`` and ``TABS``, and
one line in ``SCREENS`` below. A path no screen has answers the account's branded 404.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, Route

from schema.registry import SchemaRegistry
from server.portal_web.base import Page, Portal, Tab
from server.portal_web.screens import (
    accounts,
    assets,
    credits,
    dashboard,
    documents,
    invoices,
    payment_methods,
    payments,
    prepayments,
    projects,
    quotes,
    recurring,
    session,
    statements,
    subscriptions,
    support,
)
from services.runtime import Runtime


class Screen(Protocol):
    """What a screen module exports."""

    ROUTES: list[Page]
    TABS: list[Tab]


SCREENS: tuple[Screen, ...] = (
    accounts,
    assets,
    credits,
    dashboard,
    documents,
    invoices,
    payment_methods,
    payments,
    prepayments,
    projects,
    quotes,
    recurring,
    session,
    statements,
    subscriptions,
    support,
)


def portal_routes(runtime: Runtime, registry: SchemaRegistry) -> list[BaseRoute]:
    """``/portal/_static/<file>`` (no account slug starts with ``_``) and
    ``/portal/<account>/…``."""
    portal = Portal(runtime, registry, tabs=[tab for screen in SCREENS for tab in screen.TABS])
    routes: list[BaseRoute] = [
        Route(page.path, partial(page.endpoint, portal), methods=list(page.methods))
        for screen in SCREENS
        for page in screen.ROUTES
    ]
    routes.append(Route("/{path:path}", partial(unknown, portal, routes), methods=None))
    return [
        Route("/portal/_static/{name}", assets.static_file, methods=["GET"]),
        Mount("/portal/{account}", routes=routes),
    ]


async def unknown(portal: Portal, routes: list[BaseRoute], request: Request) -> Response:
    """The last route: a path no screen has is the branded 404 (``Portal.unknown_page``);
    a screen's path asked with another method keeps its 405."""
    if any(route.matches(request.scope)[0] == Match.PARTIAL for route in routes):
        return PlainTextResponse("Method Not Allowed", status_code=405)
    return await portal.unknown_page(request)
