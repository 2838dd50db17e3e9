"""The portal's routes under ``/portal/<account>/``: the route tables of the screen
modules in ``screens/`` joined.

A visit with a link's token (``dashboard``, ``open``, ``sign-in``, ``verify-email``)
exchanges it for a contact session through ``redeemPortalLink``, keeps the session in
the cookie and answers a 303 to the same page without the token. Every other page reads
the cookie's session as the API reads a bearer token (revoked, expired, archived client,
portal off: signed out at once) and fills its template from its document run as that
contact. Every form carries a CSRF token; a POST without a valid one is refused (403).

To add a screen family: a module in ``screens/`` exporting ``ROUTES`` and ``TABS``, and
one line in ``SCREENS`` below.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

from starlette.routing import BaseRoute, Mount, Route

from schema.registry import SchemaRegistry
from server.portal_web.base import Page, Portal, Tab
from server.portal_web.screens import (
    assets,
    dashboard,
    invoices,
    payments,
    quotes,
    session,
)
from services.runtime import Runtime


class Screen(Protocol):
    """What a screen module exports."""

    ROUTES: list[Page]
    TABS: list[Tab]


SCREENS: tuple[Screen, ...] = (
    assets,
    dashboard,
    invoices,
    payments,
    quotes,
    session,
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
    return [
        Route("/portal/_static/{name}", assets.static_file, methods=["GET"]),
        Mount("/portal/{account}", routes=routes),
    ]
