"""Jinja2 for the portal's pages (autoescaped), with the filters they format with.

Money and dates are written in the account's locale (the context's ``locale``, which the
layout sets from the portal's branding; ``en_US`` before it is known): ``1.234,50 €``
and ``02.12.2026`` for de_DE, ``$1,234.50`` and ``Dec 2, 2026`` for en_US, each currency
at its own precision (``¥1,500``). Timestamps (the API answers them in UTC) are shown in
the account's time zone (the context's ``timezone``, which the layout sets from the
account; UTC before it is known): ``day`` gives the local day, ``moment`` the local day
and time (``Dec 1, 2026, 4:30 PM``)."""

from __future__ import annotations

from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.core import UnknownLocaleError
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.responses import HTMLResponse, Response

from server.portal_web.documents import PAGES
from server.portal_web.security import secure_headers
from services.dates import format_day, format_moment
from services.money import DEFAULT_LOCALE, format_money


def locale_of(context: Context) -> str:
    """The page's ``locale``, else its portal branding's, else ``en_US``."""
    locale = context.get("locale")
    if not locale:
        portal = context.get("portal")
        locale = portal.get("locale") if isinstance(portal, dict) else None
    return locale if isinstance(locale, str) and locale else DEFAULT_LOCALE


@pass_context
def money(context: Context, amount: Any, currency: str) -> str:
    try:
        return format_money(Decimal(str(amount)), currency, locale=locale_of(context))
    except (InvalidOperation, ValueError, KeyError, UnknownLocaleError):
        return f"{amount} {currency}"


def timezone_of(context: Context) -> str | None:
    """The account's time zone, where the page knows it."""
    timezone = context.get("timezone")
    return timezone if isinstance(timezone, str) and timezone else None


@pass_context
def day(context: Context, value: Any) -> str:
    """An ISO date, or the local day of an ISO datetime (as the API answers them), in
    the account's locale; what is not a date is shown as it came."""
    if not value:
        return ""
    try:
        return format_day(value, locale=locale_of(context), timezone=timezone_of(context))
    except (TypeError, ValueError):
        return str(value)


@pass_context
def moment(context: Context, value: Any) -> str:
    """An ISO datetime as the local day and time, in the account's locale."""
    if not value:
        return ""
    try:
        return format_moment(value, locale=locale_of(context), timezone=timezone_of(context))
    except (TypeError, ValueError):
        return str(value)


def positive(amount: Any) -> bool:
    """Whether a Decimal amount (as the API answers it) is above zero."""
    try:
        return Decimal(str(amount)) > 0
    except InvalidOperation:
        return False


def humanize(value: Any) -> str:
    return str(value or "").replace("_", " ").capitalize()


_RENDERING: ContextVar[list[Context] | None] = ContextVar("portal_rendering", default=None)
_PAGE = "_portico_page"
"""A key of every page's context, to tell its contexts (the page's own, and the modules
it imports ``with context``) from a module Jinja2 caches across renders."""


class PageContext(Context):
    """Jinja2's context, noted by the page rendering it (:func:`render`).

    Jinja2 makes a cycle of each page: a macro a page imports ``with context`` (every
    import here: the filters read the page's locale and time zone) is a closure over the
    context of its module, and that context holds the module's macros in its ``vars``.
    The page's data (that context's ``parent``) then waited for the cyclic collector:
    ~56 objects a request for a contact's invoice list, ~50 for an invoice
    (tests/server/test_request_garbage.py). Once the page is rendered, :func:`render`
    empties the ``vars`` of the contexts it made, and reference counting frees them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rendering = _RENDERING.get()
        if rendering is not None:
            rendering.append(self)


ENVIRONMENT = Environment(
    loader=FileSystemLoader(PAGES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENVIRONMENT.filters["money"] = money
ENVIRONMENT.filters["day"] = day
ENVIRONMENT.filters["moment"] = moment
ENVIRONMENT.filters["humanize"] = humanize
ENVIRONMENT.filters["positive"] = positive
ENVIRONMENT.tests["positive"] = positive
ENVIRONMENT.context_class = PageContext


def render(
    template: str, context: dict[str, Any], *, status_code: int = 200, stripe: bool = False
) -> Response:
    contexts: list[Context] = []
    rendering = _RENDERING.set(contexts)
    try:
        body = ENVIRONMENT.get_template(template).render(**context, **{_PAGE: True})
    finally:
        _RENDERING.reset(rendering)
        for each in contexts:
            if _PAGE in each.parent:  # not a module Jinja2 keeps (imported without context)
                each.vars.clear()
                each.exported_vars.clear()
    return secure_headers(HTMLResponse(body, status_code=status_code), stripe=stripe)
